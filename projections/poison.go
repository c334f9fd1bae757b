package projections

import (
	"errors"
	"fmt"
)

// ErrPoison is matched (errors.Is) by errors made with Poison.
var ErrPoison = errors.New("poison event")

// Poison marks err as a poison event: the runner dead-letters the event at once, without retrying.
// A projection uses it for an event it can never apply (a payload it cannot decode, a value out of
// range). The runner treats any other error that is not a database failure the same way.
func Poison(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPoison, err)
}
