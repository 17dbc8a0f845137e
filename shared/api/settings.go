package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/settings"
)

// settingsValues are the settings as the API shows them: durations as Go durations.
type settingsValues struct {
	DetectionWindow      string   `json:"detectionWindow"`
	Backoff              string   `json:"backoff"`
	Recipients           []string `json:"recipients"`
	TemporaryTTL         string   `json:"temporaryTokenTtl"`
	MaxTemporaryLifetime string   `json:"maxTemporaryTokenLifetime"`
}

// settingsView is GET and PATCH /settings: the settings in effect, the deployment's
// defaults (the template's parameters), which fields are set at run time, and the
// version and last change of what is stored.
type settingsView struct {
	settingsValues
	Defaults  settingsValues  `json:"defaults"`
	Set       map[string]bool `json:"set"`
	Version   int64           `json:"version"`
	UpdatedAt *string         `json:"updatedAt"`
	UpdatedBy *string         `json:"updatedBy"`
}

func viewValues(v settings.Values) settingsValues {
	r := v.Recipients
	if r == nil {
		r = []string{}
	}
	return settingsValues{
		DetectionWindow: settings.Short(v.DetectionWindow), Backoff: settings.Short(v.Backoff), Recipients: r,
		TemporaryTTL: settings.Short(v.TemporaryTTL), MaxTemporaryLifetime: settings.Short(v.MaxTemporaryLifetime),
	}
}

func viewSettings(v settings.View) settingsView {
	out := settingsView{settingsValues: viewValues(v.Values), Defaults: viewValues(v.Defaults), Set: v.Stored.Set(), Version: v.Stored.Version}
	if !v.Stored.UpdatedAt.IsZero() {
		out.UpdatedAt = timePtr(v.Stored.UpdatedAt.In(time.UTC))
		out.UpdatedBy = strPtr(v.Stored.UpdatedBy)
	}
	return out
}

// GetSettings serves GET /settings (tokens:admin).
func GetSettings(svc *settings.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		v, err := svc.Get(r.Context(), c)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, viewSettings(v))
		return nil
	})
}

// settingsRequest is PATCH /settings: the fields to set, those to put back to the
// deployment's default (reset), and why (required; audited).
type settingsRequest struct {
	DetectionWindow      *string   `json:"detectionWindow"`
	Backoff              *string   `json:"backoff"`
	Recipients           *[]string `json:"recipients"`
	TemporaryTTL         *string   `json:"temporaryTokenTtl"`
	MaxTemporaryLifetime *string   `json:"maxTemporaryTokenLifetime"`
	Reset                []string  `json:"reset"`
	Reason               string    `json:"reason"`
}

// UpdateSettings serves PATCH /settings: a superuser, with a token of its own holding
// tokens:admin, changes the run-time settings, with a reason. If-Match (the version last
// read) makes the change conditional; without it the fields given are applied to the
// settings as they are, so concurrent changes of other fields are all kept.
func UpdateSettings(svc *settings.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req settingsRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		ifVersion, err := settingsIfMatch(r)
		if err != nil {
			return err
		}
		v, err := svc.Update(r.Context(), c, settings.Patch{
			DetectionWindow: req.DetectionWindow, Backoff: req.Backoff, Recipients: req.Recipients,
			TemporaryTTL: req.TemporaryTTL, MaxTemporaryLifetime: req.MaxTemporaryLifetime,
			Reset: req.Reset, Reason: req.Reason,
		}, ifVersion)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, viewSettings(v))
		return nil
	})
}

// settingsIfMatch reads an optional If-Match: the settings' version last read, where 0
// (never changed) is a version too. nil means no header.
func settingsIfMatch(r *http.Request) (*int64, error) {
	s := strings.Trim(r.Header.Get("If-Match"), `"`)
	if r.Header.Get("If-Match") == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, fault.Invalid("If-Match", "must be the version number last read")
	}
	return &n, nil
}
