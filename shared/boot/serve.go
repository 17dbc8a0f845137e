package boot

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/lambdahttp"
	"tokengate/shared/token"
)

// ServeToken is the whole main of a management function: it loads the token service
// once per cold start and serves the operation that build returns as a Lambda behind
// the HTTP API. A cold start that fails exits, so Lambda reports it and retries.
func ServeToken(build func(*token.Service) http.Handler) {
	Logger()
	svc, err := TokenService(context.Background())
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	ColdStart()
	lambda.Start(lambdahttp.Handler(build(svc)))
}
