package access

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// ParseAddress accepts a bare email address ("ops@example.com", no display name), as
// SES takes for a recipient.
func ParseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not an email address such as ops@example.com", s)
	}
	return a.Address, nil
}

// ParseAddressList reads semicolon-separated addresses (EXPIRY_NOTIFICATION_EMAILS),
// dropping blanks and repeats, and reports every bad one at once.
func ParseAddressList(s string) ([]string, error) {
	var (
		out  []string
		errs []error
		seen = map[string]bool{}
	)
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, err := ParseAddress(part)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if key := strings.ToLower(a); !seen[key] {
			seen[key] = true
			out = append(out, a)
		}
	}
	return out, errors.Join(errs...)
}
