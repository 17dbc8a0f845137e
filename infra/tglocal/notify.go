package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tokengate/infra/localstack"
	"tokengate/infra/samtemplate"
	"tokengate/shared/boot"
)

// notifierFunction is the logical id of the expiry notifier in template.yaml.
const notifierFunction = "NotifierFunction"

// notifierParams maps the notifier's settings to the template parameters that set them
// on AWS, so the local stack runs with the template's defaults unless the environment
// says otherwise.
var notifierParams = map[string]string{
	"TOKEN_EXPIRATION_DETECTION_WINDOW":          "TokenExpirationDetectionWindow",
	"TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL": "TokenExpirationNotifierBackoffInterval",
	"EXPIRY_NOTIFICATION_EMAILS":                 "ExpiryNotificationEmails",
	"NOTIFICATION_SENDER":                        "NotificationSender",
	"CONSOLE_URL":                                "ConsoleUrl",
}

// localSender stands in for NOTIFICATION_SENDER, which the template leaves without a
// default because on AWS it must be a verified SES identity; the SES emulator takes any.
const localSender = "tokengate@localhost"

// notifierDefaults are the notifier's settings from the template's parameter defaults,
// and local stand-ins for the sender and the console address.
func notifierDefaults(tmpl *samtemplate.Template, getenv func(string) string) map[string]string {
	out := map[string]string{"NOTIFICATION_SENDER": localSender}
	for env, param := range notifierParams {
		if v, ok := tmpl.Parameters[param]; ok && v != "" {
			out[env] = v
		}
	}
	if out["CONSOLE_URL"] == "" {
		// The local gateway serves the console (make run: TG_API_PORT, default 3000).
		port, _ := localstack.APIPort.In(localstack.Run, getenv)
		out["CONSOLE_URL"] = localstack.URL(port) + "/console/"
	}
	return out
}

// notifyOnce is `tglocal notify`: one notifier run now, as the schedule would start it.
func notifyOnce(ctx context.Context, state, tmplPath string) error {
	_, env, err := localSetup(state, tmplPath)
	if err != nil {
		return err
	}
	n, err := boot.Notifier(ctx, env.Getenv)
	if err != nil {
		return err
	}
	sum, err := n.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "✓ notifier run: %d expiring tokens read, %d notified, %d skipped (within the backoff), %d emails sent, %d failures\n",
		sum.TokensRead, sum.Notified, sum.Skipped, sum.EmailsSent, sum.Failures)
	// The recipients in effect: the run-time settings' (PATCH /settings) when a superuser
	// set them, else EXPIRY_NOTIFICATION_EMAILS.
	if v, err := n.Settings.Current(ctx); err == nil && len(v.Recipients) > 0 {
		from := "EXPIRY_NOTIFICATION_EMAILS"
		if st, _ := n.Settings.Stored(ctx); st.Recipients != nil {
			from = "the run-time settings, PATCH /settings"
		}
		fmt.Fprintf(os.Stderr, "  every notice also goes to %s (%s)\n", strings.Join(v.Recipients, "; "), from)
	}
	if ses := env.Getenv("AWS_ENDPOINT_URL_SES"); ses != "" {
		fmt.Fprintf(os.Stderr, "  the mails are at %s\n", ses)
	}
	return nil
}

// startSchedules runs the notifier on each enabled schedule the template gives it, the
// way EventBridge would: first one interval after the start, then every interval. It
// returns once the goroutines are started; they end with ctx.
func startSchedules(ctx context.Context, tmpl *samtemplate.Template, getenv func(string) string) error {
	var runs []time.Duration
	for _, s := range tmpl.Schedules {
		if !s.Enabled {
			continue
		}
		if s.Function != notifierFunction {
			slog.Warn("schedule not run locally: no local runner for its function", "function", s.Function, "event", s.Event)
			continue
		}
		every, err := parseRate(s.Expression)
		if err != nil {
			return fmt.Errorf("schedule %s of %s: %w", s.Event, s.Function, err)
		}
		runs = append(runs, every)
	}
	if len(runs) == 0 {
		return nil
	}
	n, err := boot.Notifier(ctx, getenv)
	if err != nil {
		return err
	}
	for _, d := range runs {
		slog.Info("expiry notifier scheduled", "every", d.String())
		go every(ctx, d, func(ctx context.Context) {
			if _, err := n.Run(ctx); err != nil {
				slog.ErrorContext(ctx, "expiry notifier run failed", "err", err)
			}
		})
	}
	return nil
}

// every calls run each d until ctx ends. A run that outlasts d delays the next one
// rather than overlapping it (EventBridge may overlap runs; the notifier copes either way).
func every(ctx context.Context, d time.Duration, run func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			run(ctx)
		}
	}
}

var ratePattern = regexp.MustCompile(`^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$`)

// parseRate reads an EventBridge rate expression, "rate(1 hour)" or "rate(30 minutes)".
// Like EventBridge it wants the singular unit for 1 and the plural otherwise. Cron
// expressions are refused: the local gateway has no cron.
func parseRate(expr string) (time.Duration, error) {
	m := ratePattern.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("%q is not a rate expression such as rate(1 hour) or rate(30 minutes) (cron is not run locally)", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: the rate must be a positive whole number", expr)
	}
	unit := m[2]
	singular := unit == "minute" || unit == "hour" || unit == "day"
	if (n == 1) != singular {
		return 0, fmt.Errorf("%q: use the singular unit for 1 and the plural otherwise, as EventBridge does", expr)
	}
	var d time.Duration
	switch unit {
	case "minute", "minutes":
		d = time.Minute
	case "hour", "hours":
		d = time.Hour
	case "day", "days":
		d = 24 * time.Hour
	}
	if time.Duration(n) > math.MaxInt64/d {
		return 0, fmt.Errorf("%q: the rate is too long", expr)
	}
	return time.Duration(n) * d, nil
}
