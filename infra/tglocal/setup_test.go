package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/infra/provision"
)

// TestSetupNeverDeletesATable: when the KMS emulator lost the key that sealed a table's
// pepper, setup keeps that table and moves the local stack to a fresh one.
func TestSetupNeverDeletesATable(t *testing.T) {
	tb := localtest.Table(t)
	localtest.Keyring(t, tb) // a pepper sealed under a key...
	c := localtest.Clients(t)
	ctx := context.Background()
	state := t.TempDir()
	// No alias from an earlier setup on this emulator either.
	_, _ = c.KMS.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(localKeyAlias)})
	// ... that the emulator no longer knows.
	require.NoError(t, os.WriteFile(filepath.Join(state, "kms-key-id"), []byte("00000000-0000-0000-0000-000000000000\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(state, "table-name"), []byte(tb.Name+"\n"), 0o600))
	// setup sets the functions' environment in its own process: restore it after.
	for _, k := range []string{"TABLE_NAME", "KMS_KEY_ID", "CATALOG_FILE", "TOKEN_PREFIX", "MAX_TOKEN_LIFETIME", "TEMPORARY_TOKEN_TTL",
		"MAX_TEMPORARY_TOKEN_LIFETIME", "PERMANENT_TOKENS_ADMIN_ONLY", "RETENTION_AFTER_END", "AUTH_CACHE_TTL", "USAGE_FLUSH_INTERVAL",
		"ROUTE_SCOPES", "AUTHORIZER_RESPONSE", "EXPIRY_NOTIFICATION_EMAILS"} {
		t.Setenv(k, os.Getenv(k))
		require.NoError(t, os.Unsetenv(k))
	}

	require.NoError(t, setup(ctx, state, "../../template.yaml"))
	moved := readFile(filepath.Join(state, "table-name"))
	t.Cleanup(func() { _ = provision.DropTable(context.Background(), c.DynamoDB, moved) })
	require.NotEqual(t, tb.Name, moved, "the stack moved to a fresh table")

	_, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tb.Name)})
	require.NoError(t, err, "the old table is kept")
	sealed, err := tb.SealedPeppers(ctx)
	require.NoError(t, err)
	require.Len(t, sealed, 1, "with its data")
	_, err = c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(moved)})
	require.NoError(t, err)
}
