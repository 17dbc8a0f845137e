// Package provision creates what template.yaml declares on the local stack: the table
// with its keys, indexes and TTL setting, and the KMS key. Only the local tools and
// tests use it; on AWS, CloudFormation does this.
package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"tokengate/infra/samtemplate"
)

// Table creates the table of spec under name unless it exists, waits until it is
// active and turns TTL on. It reports whether it created the table.
func Table(ctx context.Context, client *dynamodb.Client, spec samtemplate.TableSpec, name string) (bool, error) {
	_, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err == nil {
		return false, nil
	}
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		return false, fmt.Errorf("describe table %s: %w", name, err)
	}
	in := *spec.Input
	in.TableName = aws.String(name)
	if _, err := client.CreateTable(ctx, &in); err != nil {
		return false, fmt.Errorf("create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		return false, fmt.Errorf("wait for table %s: %w", name, err)
	}
	if spec.TTLAttribute != "" {
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(spec.TTLAttribute), Enabled: aws.Bool(true)},
		})
		if err != nil {
			return false, fmt.Errorf("turn on TTL for %s: %w", name, err)
		}
	}
	return true, nil
}

// DropTable deletes a table; a missing table is not an error.
func DropTable(ctx context.Context, client *dynamodb.Client, name string) error {
	_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	var notFound *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("delete table %s: %w", name, err)
	}
	return nil
}

// KeyExists reports whether the KMS key id is known and enabled.
func KeyExists(ctx context.Context, client *kms.Client, id string) (bool, error) {
	out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	var notFound *kmstypes.NotFoundException
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe key %s: %w", id, err)
	}
	return out.KeyMetadata.Enabled, nil
}

// Key creates a symmetric KMS key for the pepper and returns its id.
func Key(ctx context.Context, client *kms.Client, description string) (string, error) {
	out, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(description)})
	if err != nil {
		return "", fmt.Errorf("create kms key: %w", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId), nil
}

// AliasKey returns the id of the enabled key an alias (alias/…) names; found is false
// when there is no such alias or its key is disabled.
func AliasKey(ctx context.Context, client *kms.Client, alias string) (id string, found bool, err error) {
	out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	var notFound *kmstypes.NotFoundException
	if errors.As(err, &notFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("describe key %s: %w", alias, err)
	}
	return aws.ToString(out.KeyMetadata.KeyId), out.KeyMetadata.Enabled, nil
}

// Alias points alias (alias/…) at key id, creating or moving it.
func Alias(ctx context.Context, client *kms.Client, alias, id string) error {
	_, err := client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)})
	var exists *kmstypes.AlreadyExistsException
	if errors.As(err, &exists) {
		_, err = client.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)})
	}
	if err != nil {
		return fmt.Errorf("alias %s to key %s: %w", alias, id, err)
	}
	return nil
}
