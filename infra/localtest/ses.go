package localtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/stretchr/testify/require"

	"tokengate/shared/boot"
)

// SES returns an SES client for the emulator, or skips (fails under CI=true) when it is
// not running. The emulator keeps every message in memory for all tests to read back
// (Mails); tests tell theirs apart by sending to addresses of their own (Address).
func SES(t testing.TB) *ses.Client {
	t.Helper()
	for _, k := range []string{"AWS_ENDPOINT_URL_SES", "SES_STORE_URL"} {
		u := os.Getenv(k)
		if u == "" {
			missing(t, k+" is not set: run the tests with `make test`, which starts the local stack")
		}
		if pu, err := url.Parse(u); err != nil || !reachable(pu.Host) {
			missing(t, k+"="+u+" does not answer: run the tests with `make test`, which starts the local stack")
		}
	}
	return ses.NewFromConfig(Clients(t).AWS, func(o *ses.Options) { o.BaseEndpoint = boot.Endpoint("SES") })
}

// Address returns an email address no other test uses.
func Address(prefix string) string { return Name(prefix) + "@example.com" }

// Mail is a message the SES emulator accepted.
type Mail struct {
	From    string
	To      []string
	Subject string
	HTML    string
	Text    string
}

// Mails returns the messages the SES emulator holds for to, oldest first.
func Mails(t testing.TB, to string) []Mail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, os.Getenv("SES_STORE_URL"), nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "read the SES emulator's store")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "read the SES emulator's store")
	var store struct {
		Emails []struct {
			From        string `json:"from"`
			Destination struct {
				To []string `json:"to"`
			} `json:"destination"`
			Subject string `json:"subject"`
			Body    struct {
				HTML string `json:"html"`
				Text string `json:"text"`
			} `json:"body"`
		} `json:"emails"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&store), "decode the SES emulator's store")
	var out []Mail
	for _, e := range store.Emails {
		for _, addr := range e.Destination.To {
			if strings.EqualFold(addr, to) {
				out = append(out, Mail{From: e.From, To: e.Destination.To, Subject: e.Subject, HTML: e.Body.HTML, Text: e.Body.Text})
				break
			}
		}
	}
	return out
}
