// Package settings is what a superuser may change at run time, without a redeploy: the
// expiry notifier's detection window, backoff and extra recipients, and the lifetimes of
// temporary tokens. The template's parameters stay the defaults; what a PATCH sets is
// kept in the table (one item) and read by each process at most once a minute (Source).
// It knows nothing of HTTP or DynamoDB: only the Store interface below.
package settings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// Field names, as the API spells them (GET and PATCH /settings, reset, errors, audit).
const (
	FieldDetectionWindow      = "detectionWindow"
	FieldBackoff              = "backoff"
	FieldRecipients           = "recipients"
	FieldTemporaryTTL         = "temporaryTokenTtl"
	FieldMaxTemporaryLifetime = "maxTemporaryTokenLifetime"
)

// Fields lists every setting, in the order the API shows them.
var Fields = []string{FieldDetectionWindow, FieldBackoff, FieldRecipients, FieldTemporaryTTL, FieldMaxTemporaryLifetime}

// Bounds of the settings (the deployment's parameters meet the same in boot.LoadSettings).
const (
	MinDetectionWindow = time.Hour
	MinBackoff         = time.Minute
	MaxBackoff         = token.MaxDetectionWindow
	MaxRecipients      = 50
	MaxReason          = 500
)

// Values are the settings in effect.
type Values struct {
	DetectionWindow      time.Duration // TOKEN_EXPIRATION_DETECTION_WINDOW
	Backoff              time.Duration // TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL
	Recipients           []string      // EXPIRY_NOTIFICATION_EMAILS
	TemporaryTTL         time.Duration // TEMPORARY_TOKEN_TTL
	MaxTemporaryLifetime time.Duration // MAX_TEMPORARY_TOKEN_LIFETIME
}

// Stored is what the table holds: the settings a superuser set (nil: the deployment's
// default), the version every write is conditional on, and who made the last change.
type Stored struct {
	DetectionWindow      *time.Duration
	Backoff              *time.Duration
	Recipients           *[]string
	TemporaryTTL         *time.Duration
	MaxTemporaryLifetime *time.Duration
	Version              int64 // 0: nothing stored yet
	UpdatedAt            time.Time
	UpdatedBy            string
}

// Apply is the settings in effect: what is stored over the defaults. A stored temporary
// TTL longer than the temporary lifetime in effect (a redeploy lowered it) is cut to it.
func (s Stored) Apply(d Values) Values {
	v := d
	v.Recipients = slices.Clone(d.Recipients)
	set := func(dst *time.Duration, src *time.Duration) {
		if src != nil {
			*dst = *src
		}
	}
	set(&v.DetectionWindow, s.DetectionWindow)
	set(&v.Backoff, s.Backoff)
	set(&v.TemporaryTTL, s.TemporaryTTL)
	set(&v.MaxTemporaryLifetime, s.MaxTemporaryLifetime)
	if s.Recipients != nil {
		v.Recipients = slices.Clone(*s.Recipients)
	}
	if v.MaxTemporaryLifetime > 0 && v.TemporaryTTL > v.MaxTemporaryLifetime {
		v.TemporaryTTL = v.MaxTemporaryLifetime
	}
	return v
}

// Set reports which fields are stored (not the defaults).
func (s Stored) Set() map[string]bool {
	return map[string]bool{
		FieldDetectionWindow: s.DetectionWindow != nil, FieldBackoff: s.Backoff != nil, FieldRecipients: s.Recipients != nil,
		FieldTemporaryTTL: s.TemporaryTTL != nil, FieldMaxTemporaryLifetime: s.MaxTemporaryLifetime != nil,
	}
}

// text is each stored field as the audit trail shows it ("" for the default).
func (s Stored) text() map[string]string {
	dur := func(d *time.Duration) string {
		if d == nil {
			return ""
		}
		return d.String()
	}
	out := map[string]string{
		FieldDetectionWindow: dur(s.DetectionWindow), FieldBackoff: dur(s.Backoff),
		FieldTemporaryTTL: dur(s.TemporaryTTL), FieldMaxTemporaryLifetime: dur(s.MaxTemporaryLifetime),
	}
	if s.Recipients != nil {
		out[FieldRecipients] = strings.Join(*s.Recipients, "; ")
		if len(*s.Recipients) == 0 {
			out[FieldRecipients] = "(none)"
		}
	}
	return out
}

// Store reads and writes the stored settings; shared/store.Table implements it.
type Store interface {
	// GetSettings returns the stored settings, the zero Stored when none are.
	GetSettings(ctx context.Context) (Stored, error)
	// PutSettings writes s with its audit record, both or neither, if the stored
	// settings are still at version ifVersion (0: none stored); else fault.ErrConflict.
	PutSettings(ctx context.Context, s Stored, ifVersion int64, ev audit.Event) error
}

// ReadEvery is how often a process reads the stored settings again.
const ReadEvery = time.Minute

// Source is one process's view of the settings: read from the table at most once per
// Every (ReadEvery when zero), so a change reaches every process within a minute. A read
// that fails is an error for whoever asked: nothing falls back to the defaults, which
// may be looser than what a superuser set.
type Source struct {
	Store    Store
	Defaults Values
	Every    time.Duration
	Now      func() time.Time // time.Now when nil

	mu     sync.Mutex
	stored Stored
	readAt time.Time
}

func (s *Source) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Stored returns the stored settings as of at most Every ago.
func (s *Source) Stored(ctx context.Context) (Stored, error) {
	every := s.Every
	if every <= 0 {
		every = ReadEvery
	}
	now := s.now()
	s.mu.Lock()
	if !s.readAt.IsZero() && now.Sub(s.readAt) < every && now.After(s.readAt.Add(-time.Second)) {
		st := s.stored
		s.mu.Unlock()
		return st, nil
	}
	s.mu.Unlock()
	st, err := s.Store.GetSettings(ctx)
	if err != nil {
		return Stored{}, fmt.Errorf("read settings: %w", err)
	}
	s.remember(st, now)
	return st, nil
}

// remember keeps st as read (or written) at at, unless a later version is kept.
func (s *Source) remember(st Stored, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.Version >= s.stored.Version || s.readAt.IsZero() {
		s.stored, s.readAt = st, at
	}
}

// Current is the settings in effect.
func (s *Source) Current(ctx context.Context) (Values, error) {
	st, err := s.Stored(ctx)
	if err != nil {
		return Values{}, err
	}
	return st.Apply(s.Defaults), nil
}

// Policy is deployed with the lifetimes and the detection window in effect: the token
// service's token.PolicySettings.
func (s *Source) Policy(ctx context.Context, deployed token.Policy) (token.Policy, error) {
	st, err := s.Stored(ctx)
	if err != nil {
		return token.Policy{}, err
	}
	v := st.Apply(Values{
		DetectionWindow: deployed.DetectionWindow, TemporaryTTL: deployed.TemporaryTTL,
		MaxTemporaryLifetime: deployed.MaxTemporaryLifetime,
	})
	deployed.DetectionWindow, deployed.TemporaryTTL, deployed.MaxTemporaryLifetime = v.DetectionWindow, v.TemporaryTTL, v.MaxTemporaryLifetime
	return deployed, nil
}

// Patch is a change to the settings: the fields given are set, those named in Reset go
// back to the deployment's default, the others stay. Durations are Go durations
// ("168h", "90m").
type Patch struct {
	DetectionWindow      *string
	Backoff              *string
	Recipients           *[]string
	TemporaryTTL         *string
	MaxTemporaryLifetime *string
	Reset                []string
	Reason               string
}

// apply checks p and returns st with it applied; every bad field is reported at once,
// by name. With defaults (the deployment's) it also checks what spans two fields, on
// the settings as they would be; without, only each field.
func (p Patch) apply(st Stored, defaults *Values) (Stored, error) {
	bad := &fault.InvalidError{}
	out := st
	given := map[string]bool{}
	dur := func(field string, in *string, min, max time.Duration, dst **time.Duration) {
		if in == nil {
			return
		}
		given[field] = true
		d, err := time.ParseDuration(strings.TrimSpace(*in))
		switch {
		case err != nil:
			bad.Add(field, fmt.Sprintf("must be a duration such as %s or 90m", example(field)))
		case d < min || d > max:
			bad.Add(field, fmt.Sprintf("must be from %s to %s", short(min), short(max)))
		default:
			*dst = &d
		}
	}
	dur(FieldDetectionWindow, p.DetectionWindow, MinDetectionWindow, token.MaxDetectionWindow, &out.DetectionWindow)
	dur(FieldBackoff, p.Backoff, MinBackoff, MaxBackoff, &out.Backoff)
	dur(FieldTemporaryTTL, p.TemporaryTTL, time.Minute, token.MaxTemporaryTTL, &out.TemporaryTTL)
	dur(FieldMaxTemporaryLifetime, p.MaxTemporaryLifetime, time.Minute, token.MaxTemporaryTTL, &out.MaxTemporaryLifetime)
	if p.Recipients != nil {
		given[FieldRecipients] = true
		if list, ok := recipients(bad, *p.Recipients); ok {
			out.Recipients = &list
		}
	}
	for i, f := range p.Reset {
		switch {
		case !slices.Contains(Fields, f):
			bad.Add(fmt.Sprintf("reset[%d]", i), fmt.Sprintf("%q is not a setting (%s)", f, strings.Join(Fields, ", ")))
		case given[f]:
			bad.Add(fmt.Sprintf("reset[%d]", i), fmt.Sprintf("%s is given a value in the same request: set it or reset it", f))
		default:
			given[f] = true
			reset(&out, f)
		}
	}
	if len(given) == 0 {
		bad.Add("", "give at least one setting to change ("+strings.Join(Fields, ", ")+") or reset")
	}
	checkReason(bad, p.Reason)
	if err := bad.Err(); err != nil {
		return Stored{}, err
	}
	if defaults == nil {
		return out, nil
	}
	if v := out.Apply(*defaults); out.TemporaryTTL != nil && *out.TemporaryTTL > v.MaxTemporaryLifetime {
		field := FieldTemporaryTTL
		if !given[field] {
			field = FieldMaxTemporaryLifetime
		}
		return Stored{}, fault.Invalid(field, fmt.Sprintf("the temporary token TTL (%s) must not exceed the temporary token lifetime (%s)", short(*out.TemporaryTTL), short(v.MaxTemporaryLifetime)))
	}
	return out, nil
}

func reset(st *Stored, field string) {
	switch field {
	case FieldDetectionWindow:
		st.DetectionWindow = nil
	case FieldBackoff:
		st.Backoff = nil
	case FieldRecipients:
		st.Recipients = nil
	case FieldTemporaryTTL:
		st.TemporaryTTL = nil
	case FieldMaxTemporaryLifetime:
		st.MaxTemporaryLifetime = nil
	}
}

// recipients checks a list of extra recipients: bare addresses, no repeats (without
// case), at most MaxRecipients. An empty list means none, even where the deployment
// names some.
func recipients(bad *fault.InvalidError, in []string) ([]string, bool) {
	if len(in) > MaxRecipients {
		bad.Add(FieldRecipients, fmt.Sprintf("at most %d addresses", MaxRecipients))
		return nil, false
	}
	out := make([]string, 0, len(in))
	seen := map[string]int{}
	ok := true
	for i, s := range in {
		field := fmt.Sprintf("%s[%d]", FieldRecipients, i)
		a, err := access.ParseAddress(strings.TrimSpace(s))
		if err != nil {
			bad.Add(field, "is not an email address such as ops@example.com")
			ok = false
			continue
		}
		if j, dup := seen[strings.ToLower(a)]; dup {
			bad.Add(field, fmt.Sprintf("repeats %s[%d]", FieldRecipients, j))
			ok = false
			continue
		}
		seen[strings.ToLower(a)] = i
		out = append(out, a)
	}
	return out, ok
}

func checkReason(bad *fault.InvalidError, reason string) {
	switch {
	case strings.TrimSpace(reason) == "":
		bad.Add("reason", "is required: say why the settings change (the audit log keeps it)")
	case utf8.RuneCountInString(reason) > MaxReason:
		bad.Add("reason", fmt.Sprintf("must be at most %d characters", MaxReason))
	case strings.ContainsFunc(reason, func(r rune) bool { return !unicode.IsPrint(r) && r != '\n' }):
		bad.Add("reason", "must contain only printable characters and line breaks")
	}
}

func example(field string) string {
	switch field {
	case FieldDetectionWindow:
		return "168h"
	case FieldBackoff:
		return "24h"
	}
	return "1h"
}

// short is a duration without its zero minutes and seconds: 168h, 90m, 1m.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Short is a duration as the API shows it: 168h, 90m, 1h30m.
func Short(d time.Duration) string { return short(d) }

// Service reads and changes the settings for callers.
type Service struct {
	Source     *Source
	Principals access.Principals
	Now        func() time.Time // time.Now when nil
}

// View is the settings as GET and PATCH /settings answer them.
type View struct {
	Values   Values
	Defaults Values
	Stored   Stored
}

// mayRead: reading the settings needs tokens:admin.
func mayRead(c access.Caller) error {
	if !c.Has(access.TokensAdmin) {
		return &fault.ForbiddenError{Reason: "reading the settings needs the tokens:admin scope"}
	}
	return nil
}

// mayChange decides, before any read, what changing the settings needs of the token:
// tokens:admin and the caller's own authority (a delegated token never changes them).
func mayChange(c access.Caller) error {
	if !c.Has(access.TokensAdmin) {
		return &fault.ForbiddenError{Reason: "changing the settings needs the tokens:admin scope, held by a superuser"}
	}
	if c.Delegated() {
		return token.DelegatedError(c, "change the settings")
	}
	return nil
}

// superuser refuses a caller whose principal (as read now; nil: gone) is no superuser.
func superuser(p *access.Principal) error {
	if p == nil || !p.Superuser {
		return &fault.ForbiddenError{Reason: "only a superuser may change the settings"}
	}
	return nil
}

// Get returns the settings in effect, the defaults and what is stored, read afresh.
func (s *Service) Get(ctx context.Context, c access.Caller) (View, error) {
	if err := mayRead(c); err != nil {
		return View{}, err
	}
	st, err := s.Source.Store.GetSettings(ctx)
	if err != nil {
		return View{}, fmt.Errorf("read settings: %w", err)
	}
	s.Source.remember(st, s.now())
	return View{Values: st.Apply(s.Source.Defaults), Defaults: s.Source.Defaults, Stored: st}, nil
}

// updateAttempts bounds the retries of a PATCH that lost a race: each applies the same
// fields to the settings as they are then, so no concurrent change is lost.
const updateAttempts = 5

// Update applies p for c, a superuser with a token of its own and tokens:admin, with an
// audit record of what changed and why. With ifVersion (not nil) the settings must still
// be at that version (0: never changed); without it, a concurrent change is read again
// and p applied on top of it.
func (s *Service) Update(ctx context.Context, c access.Caller, p Patch, ifVersion *int64) (View, error) {
	if err := mayChange(c); err != nil {
		return View{}, err
	}
	if _, err := p.apply(Stored{}, nil); err != nil {
		return View{}, err // bad input costs no read
	}
	who, err := s.Principals.GetPrincipal(ctx, c.OwnerID)
	if errors.Is(err, fault.ErrNotFound) {
		who, err = nil, nil
	}
	if err != nil {
		return View{}, fmt.Errorf("read principal %s: %w", c.OwnerID, err)
	}
	if err := superuser(who); err != nil {
		return View{}, err
	}
	for attempt := 1; ; attempt++ {
		st, err := s.Source.Store.GetSettings(ctx)
		if err != nil {
			return View{}, fmt.Errorf("read settings: %w", err)
		}
		if ifVersion != nil && st.Version != *ifVersion {
			return View{}, fault.ErrConflict
		}
		next, err := p.apply(st, &s.Source.Defaults)
		if err != nil {
			return View{}, err
		}
		now := s.now().UTC().Truncate(time.Second)
		next.Version, next.UpdatedAt, next.UpdatedBy = st.Version+1, now, c.OwnerID
		ev := audit.Event{
			ID: audit.NewID(), Time: now, Version: next.Version, Type: audit.EventSettingsChange,
			ActorID: c.OwnerID, ActorTokenID: c.TokenID, ActorMintedBy: c.MinterID,
			Reason: strings.TrimSpace(p.Reason), Changes: audit.Diff(st.text(), next.text()),
		}
		err = s.Source.Store.PutSettings(ctx, next, st.Version, ev)
		if errors.Is(err, fault.ErrConflict) && ifVersion == nil && attempt < updateAttempts {
			continue
		}
		if err != nil {
			return View{}, err
		}
		s.Source.remember(next, s.now())
		return View{Values: next.Apply(s.Source.Defaults), Defaults: s.Source.Defaults, Stored: next}, nil
	}
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
