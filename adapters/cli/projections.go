package cli

import (
	"slices"
	"strings"
)

// selectProjections checks names against the platform's projections (all of them when all is
// set, or when no name is given and emptyMeansAll) and returns the names in the order to use.
// Unknown names are a usage error.
func (s *session) selectProjections(names []string, all, emptyMeansAll bool) ([]string, error) {
	var known []string
	for _, p := range s.app.Queries.Projections() {
		known = append(known, p.Name)
	}
	if all || emptyMeansAll && len(names) == 0 {
		return known, nil
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, usagef("unknown projection %q (known: %s)", n, strings.Join(slices.Sorted(slices.Values(known)), ", "))
		}
	}
	return names, nil
}
