package token

import (
	"errors"
	"fmt"

	"tokengate/shared/fault"
)

// The errors of token strings and of creating a token; every other kind a token
// operation returns is one of shared/fault's.
var (
	// ErrOwnerChanged: a new token was not written because its owner principal is no
	// longer the one its rules were decided on (Store.Create). It is a fault.ErrConflict:
	// a caller that does not decide again answers 409.
	ErrOwnerChanged = fmt.Errorf("%w: the owner principal changed", fault.ErrConflict)
	// ErrParentChanged: a new token was not written because its parent (the calling
	// token) is no longer at the version its rules were decided on (Store.Create). It is
	// a fault.ErrConflict: Create reads the parent again and decides again.
	ErrParentChanged = fmt.Errorf("%w: the calling token changed", fault.ErrConflict)
	// ErrMalformed: not a well-formed token string (bad shape or checksum).
	ErrMalformed = errors.New("malformed token")
	// ErrForged: a well-formed token string whose tag does not verify: not made by
	// tokengate (or by a pepper version no longer in use).
	ErrForged = errors.New("token tag does not verify")
	// ErrNotBootstrapped: the table holds no pepper yet. Only the operator's bootstrap
	// (tglocal bootstrap, with the operator's credentials) creates it: no function role
	// may generate a data key or write the pepper item.
	ErrNotBootstrapped = errors.New("no pepper in the table: tokengate is not bootstrapped yet (run `tglocal bootstrap`)")
)
