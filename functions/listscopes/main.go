// Command listscopes serves GET /scopes as a Lambda function.
// It reads only the scope catalog (CATALOG_FILE), so it links no AWS client.
package main

import (
	"os"

	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/lambdahttp"
	"tokengate/shared/lambdaruntime"
	"tokengate/shared/logging"
)

func main() {
	logging.Setup()
	catalog, err := access.CatalogFromEnv(os.Getenv)
	if err != nil {
		logging.Fatal(err)
	}
	logging.ColdStart()
	logging.Fatal(lambdaruntime.Start(lambdahttp.Handler(api.Scopes(catalog))))
}
