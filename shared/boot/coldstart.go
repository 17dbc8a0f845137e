package boot

import (
	"log/slog"
	"os"
	"time"
)

// ColdStart logs how long this cold start took, from process start until the function
// is ready for its first event: one line per instance, for dashboards and for the local
// gateway's report of init times under the Lambda emulator.
func ColdStart() {
	slog.Info("cold start", "function", os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), "initMs", ms(time.Since(processStart)))
}
