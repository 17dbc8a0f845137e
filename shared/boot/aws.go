package boot

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Clients are the AWS clients of one cold start.
type Clients struct {
	DynamoDB *dynamodb.Client
	KMS      *kms.Client
	AWS      aws.Config
}

// AWSConfig reads the AWS configuration from the environment Lambda sets: AWS_REGION and
// the function role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
// It does not use the SDK's full loader (profiles, SSO, IMDS): that would add about 2 MB
// to every bootstrap and a file read to every cold start, for sources Lambda never uses.
func AWSConfig() (aws.Config, error) {
	region := firstEnv("AWS_REGION", "AWS_DEFAULT_REGION")
	if region == "" {
		return aws.Config{}, fmt.Errorf("aws config: AWS_REGION is not set")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("aws config: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))),
	}, nil
}

// Endpoint is the endpoint override for a service, from AWS_ENDPOINT_URL_<SERVICE> or
// AWS_ENDPOINT_URL, as the SDKs define them; nil means the AWS endpoint. This is how the
// same binaries run against AWS, LocalStack or the local stack.
func Endpoint(service string) *string {
	key := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(service, " ", "_"))
	if v := firstEnv(key, "AWS_ENDPOINT_URL"); v != "" {
		return aws.String(v)
	}
	return nil
}

func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

// NewClients makes the DynamoDB and KMS clients.
func NewClients(_ context.Context) (Clients, error) {
	cfg, err := AWSConfig()
	if err != nil {
		return Clients{}, err
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = Endpoint("DynamoDB")
		// DynamoDB Local sends CRC32 headers that do not match some of its bodies; the SDK
		// then logs a warning per response. Checking them matters only against AWS.
		if o.BaseEndpoint != nil {
			o.DisableValidateResponseChecksum = true
		}
	})
	k := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = Endpoint("KMS") })
	return Clients{DynamoDB: ddb, KMS: k, AWS: cfg}, nil
}
