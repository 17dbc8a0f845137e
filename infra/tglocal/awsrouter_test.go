package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
)

// TestAWSRouter: real SDK clients with one endpoint (what AWS_ENDPOINT_URL gives a
// function under sam local) reach DynamoDB Local and the KMS emulator through the router.
func TestAWSRouter(t *testing.T) {
	c := localtest.Clients(t)
	h, err := awsRouter(routerEndpoints())
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(c.AWS, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	_, err = ddb.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	require.NoError(t, err, "DynamoDB through the router")
	k := kms.NewFromConfig(c.AWS, func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	_, err = k.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1)})
	require.NoError(t, err, "KMS through the router")

	res, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	require.Equal(t, 400, res.StatusCode, "an unsigned request is refused")
}

// TestEnvVars: the --env-vars file names only variables the template declares (sam local
// drops the others), with the local stack's table and key and the router as endpoint.
func TestEnvVars(t *testing.T) {
	out, err := envVars(localtest.Template(t), map[string]string{"TABLE_NAME": "tokengate", "KMS_KEY_ID": "k-1", "SES_STORE_URL": "x"}, "http://127.0.0.1:8010")
	require.NoError(t, err)
	var f struct{ Parameters map[string]string }
	require.NoError(t, json.Unmarshal(out, &f))
	require.Equal(t, map[string]string{"TABLE_NAME": "tokengate", "KMS_KEY_ID": "k-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:8010"}, f.Parameters)
	tmpl, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	require.Contains(t, string(tmpl), "AWS_ENDPOINT_URL: !If [HasLocalEndpoint, !Ref LocalEndpoint, !Ref AWS::NoValue]",
		"AWS_ENDPOINT_URL is declared from LocalEndpoint, so SAM passes it")
}

func TestAWSRouterAddr(t *testing.T) {
	t.Setenv("TG_AWS_PORT", "")
	require.Equal(t, "127.0.0.1:23140", awsRouterAddr("127.0.0.1:23130"), "beside the gateway")
	require.Equal(t, "127.0.0.1:3010", awsRouterAddr("127.0.0.1:3000"))
	t.Setenv("TG_AWS_PORT", "9999")
	require.Equal(t, "127.0.0.1:9999", awsRouterAddr("127.0.0.1:3000"))
}
