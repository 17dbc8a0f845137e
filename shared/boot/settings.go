// Package boot turns the environment into settings and AWS clients, once per cold start.
// It is the only package that reads os.Getenv; a bad setting fails the start with a
// message naming it, rather than a function that half works.
package boot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

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
}

var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,9}$`)

// LoadSettings reads Settings from getenv (os.Getenv when nil) and reports every bad one at once.
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
		CatalogFile: catalogFile(str("CATALOG_FILE", "")),
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
	}
	if !prefixPattern.MatchString(s.Prefix) {
		errs = append(errs, fmt.Errorf("TOKEN_PREFIX=%q must be 1-10 lower-case letters and digits, starting with a letter", s.Prefix))
	}
	if err := s.Policy.Validate(); err != nil && len(errs) == 0 {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Settings{}, fmt.Errorf("settings: %w", err)
	}
	return s, nil
}

// catalogFile resolves a relative CATALOG_FILE against the function's code folder
// (LAMBDA_TASK_ROOT), where the build puts catalog.json beside bootstrap.
func catalogFile(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if root := os.Getenv("LAMBDA_TASK_ROOT"); root != "" {
		return filepath.Join(root, p)
	}
	return p
}
