package boot

import (
	"errors"
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
	// Endpoints are the settings' endpoint overrides, for clients made later (SES).
	Endpoints AWSSettings
}

// NewClients makes the DynamoDB and KMS clients of s, with the time budget of budget.go
// (the SES client made later from AWS has it too). It reads the credentials Lambda
// sets for the function's role (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN) and not the SDK's full loader (profiles, SSO, IMDS): that would add
// about 2 MB to every bootstrap and a file read to every cold start, for sources Lambda
// never uses.
func NewClients(s Settings) (Clients, error) {
	a := s.AWS
	if a.Region == "" {
		return Clients{}, errors.New("aws config: AWS_REGION is not set")
	}
	if a.AccessKeyID == "" || a.SecretAccessKey == "" {
		return Clients{}, errors.New("aws config: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	cfg := budgeted(aws.Config{
		Region:      a.Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, a.SessionToken)),
	})
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = a.Endpoint("DynamoDB")
		// DynamoDB Local sends CRC32 headers that do not match some of its bodies; the SDK
		// then logs a warning per response. Checking them matters only against AWS.
		if o.BaseEndpoint != nil {
			o.DisableValidateResponseChecksum = true
		}
	})
	k := kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = a.Endpoint("KMS") })
	return Clients{DynamoDB: ddb, KMS: k, AWS: cfg, Endpoints: a}, nil
}

// Endpoint is the endpoint override for a service from the process environment
// (AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL, as the SDKs define them), for the
// operator tools and tests that make their own clients; nil means the AWS endpoint.
func Endpoint(service string) *string {
	key := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(service, " ", "_"))
	for _, k := range []string{key, "AWS_ENDPOINT_URL"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return &v
		}
	}
	return nil
}
