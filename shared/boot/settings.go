// Package boot turns the environment into settings, AWS clients and the services each
// function runs, once per cold start. A function's main calls one constructor and
// lambda.Start; nothing here exits. LoadSettings is the one reader of every variable
// (getenv is os.Getenv in a main, a map in tests and local tools): a bad setting fails
// the start with a message naming it, rather than a function that half works.
package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// Settings are every environment setting the functions read.
type Settings struct {
	TableName          string
	CatalogFile        string // CATALOG_FILE: application scopes and roles; empty: built-ins only
	KMSKeyID           string
	Prefix             string
	Policy             token.Policy
	AuthCacheTTL       time.Duration
	UsageFlushInterval time.Duration

	// The authorizer's: ROUTE_SCOPES, checked into a route table, and AUTHORIZER_RESPONSE.
	Routes   *authorizer.RouteTable
	Response authorizer.Response

	// The mail senders' (notifier, leak reports, enrollment).
	Backoff    time.Duration // TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL
	Recipients []string      // EXPIRY_NOTIFICATION_EMAILS, semicolon-separated
	Sender     string        // NOTIFICATION_SENDER; required by the functions that send mail
	ConsoleURL string        // CONSOLE_URL: the web console, for the links in notices; "" for none
	// ConfigurationSet is SES_CONFIGURATION_SET, the SES configuration set every mail goes
	// through (its bounce and complaint events); "" for none.
	ConfigurationSet string

	AWS AWSSettings
}

// AWSSettings are what the AWS clients are made from: what Lambda sets for the function's
// role, and the endpoint overrides (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL) that
// point the same binaries at LocalStack or the local stack.
type AWSSettings struct {
	Region                                     string
	AccessKeyID, SecretAccessKey, SessionToken string
	// Endpoints maps a service name as the SDKs spell it in AWS_ENDPOINT_URL_<SERVICE>
	// ("DYNAMODB", "KMS", "SES") to its endpoint; "" is AWS_ENDPOINT_URL.
	Endpoints map[string]string
}

// Endpoint is the endpoint override for a service, or nil for the AWS endpoint.
func (a AWSSettings) Endpoint(service string) *string {
	key := strings.ToUpper(strings.ReplaceAll(service, " ", "_"))
	if v := a.Endpoints[key]; v != "" {
		return &v
	}
	if v := a.Endpoints[""]; v != "" {
		return &v
	}
	return nil
}

// endpointServices are the services whose endpoint override LoadSettings reads.
var endpointServices = []string{"DYNAMODB", "KMS", "SES"}

// LoadAWSSettings reads AWSSettings from getenv (os.Getenv when nil).
func LoadAWSSettings(getenv func(string) string) AWSSettings {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	a := AWSSettings{
		Region:          get("AWS_REGION"),
		AccessKeyID:     get("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: get("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    get("AWS_SESSION_TOKEN"),
		Endpoints:       map[string]string{"": get("AWS_ENDPOINT_URL")},
	}
	if a.Region == "" {
		a.Region = get("AWS_DEFAULT_REGION")
	}
	for _, svc := range endpointServices {
		a.Endpoints[svc] = get("AWS_ENDPOINT_URL_" + svc)
	}
	return a
}

var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,9}$`)

// LoadSettings reads Settings from getenv (os.Getenv when nil) and reports every bad one
// at once. The AWS credentials are checked when clients are made, not here: the catalog
// functions need none.
func LoadSettings(getenv func(string) string) (Settings, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var errs []error
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	required := func(key string) string {
		v := str(key, "")
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", key))
		}
		return v
	}
	dur := func(key, def string) time.Duration {
		v := str(key, def)
		if v == "0" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s=%q is not a duration such as 90m or 24h", key, v))
		}
		return d
	}
	boolean := func(key string, def bool) bool {
		v := str(key, strconv.FormatBool(def))
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not true or false", key, v))
		}
		return b
	}
	s := Settings{
		TableName:   required("TABLE_NAME"),
		KMSKeyID:    required("KMS_KEY_ID"),
		Prefix:      str("TOKEN_PREFIX", token.DefaultPrefix),
		CatalogFile: access.CatalogPath(str("CATALOG_FILE", ""), getenv("LAMBDA_TASK_ROOT")),
		Policy: token.Policy{
			MaxLifetime:          dur("MAX_TOKEN_LIFETIME", "8760h"),
			TemporaryTTL:         dur("TEMPORARY_TOKEN_TTL", "1h"),
			MaxTemporaryLifetime: dur("MAX_TEMPORARY_TOKEN_LIFETIME", "12h"),
			PermanentAdminOnly:   boolean("PERMANENT_TOKENS_ADMIN_ONLY", true),
			Retention:            dur("RETENTION_AFTER_END", "720h"),
			DetectionWindow:      dur("TOKEN_EXPIRATION_DETECTION_WINDOW", "168h"),
		},
		AuthCacheTTL:       dur("AUTH_CACHE_TTL", "30s"),
		UsageFlushInterval: dur("USAGE_FLUSH_INTERVAL", "60s"),
		Response:           authorizer.Response(str("AUTHORIZER_RESPONSE", string(authorizer.ResponseSimple))),
		AWS:                LoadAWSSettings(getenv),
	}
	if !prefixPattern.MatchString(s.Prefix) {
		errs = append(errs, fmt.Errorf("TOKEN_PREFIX=%q must be 1-10 lower-case letters and digits, starting with a letter", s.Prefix))
	}
	if err := s.Policy.Validate(); err != nil && len(errs) == 0 {
		errs = append(errs, err)
	}
	if s.Response != authorizer.ResponseSimple && s.Response != authorizer.ResponseIAM {
		errs = append(errs, fmt.Errorf("AUTHORIZER_RESPONSE=%q must be simple or iam", s.Response))
	}
	var err error
	if s.Routes, err = routeTable(getenv("ROUTE_SCOPES")); err != nil {
		errs = append(errs, err)
	}
	backoff := str("TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL", "24h")
	if s.Backoff, err = time.ParseDuration(backoff); err != nil || s.Backoff <= 0 {
		errs = append(errs, fmt.Errorf("TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL=%q is not a positive duration such as 24h", backoff))
	}
	if s.Recipients, err = access.ParseAddressList(getenv("EXPIRY_NOTIFICATION_EMAILS")); err != nil {
		errs = append(errs, fmt.Errorf("EXPIRY_NOTIFICATION_EMAILS (addresses separated by semicolons): %w", err))
	}
	if sender := str("NOTIFICATION_SENDER", ""); sender != "" {
		if s.Sender, err = access.ParseAddress(sender); err != nil {
			errs = append(errs, fmt.Errorf("NOTIFICATION_SENDER: %w", err))
		}
	}
	s.ConfigurationSet = str("SES_CONFIGURATION_SET", "")
	if s.ConsoleURL, err = consoleURL(getenv("CONSOLE_URL")); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Settings{}, fmt.Errorf("settings: %w", err)
	}
	return s, nil
}

// sender is NOTIFICATION_SENDER for a function that sends mail: required there.
func (s Settings) sender() (string, error) {
	if s.Sender == "" {
		return "", errNoSender
	}
	return s.Sender, nil
}

var errNoSender = errors.New("settings: NOTIFICATION_SENDER is required: the address notices come from, verified in SES")

// routeTable checks ROUTE_SCOPES: a JSON object of route keys to scopes, with no two
// keys equally specific for some request. Empty: no route listed.
func routeTable(raw string) (*authorizer.RouteTable, error) {
	routes := map[string][]string{}
	if strings.TrimSpace(raw) != "" {
		if err := json.Unmarshal([]byte(raw), &routes); err != nil {
			return nil, fmt.Errorf(`ROUTE_SCOPES must be a JSON object such as {"GET /orders": ["orders:read"]}: %w`, err)
		}
	}
	return authorizer.NewRouteTable(routes)
}

// consoleURL checks CONSOLE_URL: empty, or an absolute http(s) URL without a query or
// fragment, returned ending in "/" so that "#/tokens/<id>" can follow it.
func consoleURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("CONSOLE_URL=%q is not an http(s) address such as https://api.example.com/console/", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}
