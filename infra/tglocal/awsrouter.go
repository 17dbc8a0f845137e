package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"

	"tokengate/infra/localstack"
	"tokengate/infra/samtemplate"
)

// The local stack runs each AWS service on its own port, while a function under `sam
// local` gets one endpoint: AWS_ENDPOINT_URL, from the template's LocalEndpoint
// parameter (SAM passes a function only the variables the template declares). The AWS
// router is that one endpoint: it sends each request to the service its SigV4 signature
// names.

// credentialScope finds the service in "Credential=AKID/20260101/us-east-1/dynamodb/aws4_request".
var credentialScope = regexp.MustCompile(`Credential=[^/]+/[0-9]{8}/[^/]+/([a-z0-9-]+)/aws4_request`)

// awsRouter proxies to the endpoint of each service by signing name.
func awsRouter(endpoints map[string]string) (http.Handler, error) {
	proxies := map[string]*httputil.ReverseProxy{}
	for svc, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("endpoint of %s: %q is not a URL", svc, ep)
		}
		proxies[svc] = httputil.NewSingleHostReverseProxy(u)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil {
			http.Error(w, "not a SigV4-signed AWS request", http.StatusBadRequest)
			return
		}
		p, ok := proxies[m[1]]
		if !ok {
			http.Error(w, "no local endpoint for service "+m[1], http.StatusNotFound)
			return
		}
		p.ServeHTTP(w, r)
	}), nil
}

// routerEndpoints are the local stack's endpoints by SigV4 signing name.
func routerEndpoints() map[string]string {
	out := map[string]string{}
	for svc, env := range map[string]string{"dynamodb": "AWS_ENDPOINT_URL_DYNAMODB", "kms": "AWS_ENDPOINT_URL_KMS", "ses": "AWS_ENDPOINT_URL_SES"} {
		if v := os.Getenv(env); v != "" {
			out[svc] = v
		}
	}
	return out
}

// envVars is `tglocal env-vars`: the --env-vars JSON for `sam local invoke` and `sam
// local start-api` against the local stack. SAM only overrides variables the template
// declares, so it holds those of them that the local stack decides (table, key, catalog)
// and the AWS router as AWS_ENDPOINT_URL (declared when LocalEndpoint is set).
func envVars(tmpl *samtemplate.Template, local map[string]string, endpoint string) ([]byte, error) {
	declared := map[string]bool{}
	for _, vars := range tmpl.Environment {
		for k := range vars {
			declared[k] = true
		}
	}
	for _, k := range []string{"TABLE_NAME", "KMS_KEY_ID", "AWS_ENDPOINT_URL"} {
		declared[k] = true // declared with a value only CloudFormation resolves
	}
	params := map[string]string{"AWS_ENDPOINT_URL": endpoint}
	for _, k := range []string{"TABLE_NAME", "KMS_KEY_ID"} {
		if v := local[k]; v != "" {
			params[k] = v
		}
	}
	for k := range params {
		if !declared[k] {
			return nil, fmt.Errorf("%s is not declared by the template: sam local would drop it", k)
		}
	}
	return json.MarshalIndent(map[string]map[string]string{"Parameters": params}, "", "  ")
}

// awsRouterAddr is where serve runs the AWS router: 127.0.0.1:$TG_AWS_PORT, by default
// the gateway's port + 10 (3010 beside 3000), so stacks on other ports don't collide.
func awsRouterAddr(gatewayAddr string) string {
	if port := os.Getenv(localstack.AWSPort.Env); port != "" {
		return "127.0.0.1:" + port
	}
	port := 3000
	if _, p, err := net.SplitHostPort(gatewayAddr); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	return "127.0.0.1:" + strconv.Itoa(port+10)
}
