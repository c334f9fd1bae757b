package tenancy

import "github.com/posthaste/posthaste/events"

// FoldCredential applies events of one credential stream to c, the state the caller already
// holds (the zero Credential for none), in the order given, and returns the new state. Events of
// other types are ignored. Folding the log tail past a read model's horizon over the model's row
// gives the current state as long as the tail holds every event of the stream past the horizon,
// in order: an event the row already reflects is applied again before the later ones.
func FoldCredential(c Credential, recs []events.Record) (Credential, error) {
	for _, r := range recs {
		ev, err := events.Decode(r.Envelope)
		if err != nil {
			return Credential{}, err
		}
		c.apply(r.Envelope, ev)
	}
	return c, nil
}
