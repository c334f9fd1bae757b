package smtpin

import (
	"errors"

	"github.com/emersion/go-sasl"
)

// loginServer is the server side of the (obsolete but ubiquitous) LOGIN mechanism: the
// client sends its user name and password in answer to two prompts, or the user name as the
// initial response. go-sasl only ships the client side.
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

var _ sasl.Server = (*loginServer)(nil)

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(response) == 0 {
			return []byte("Username:"), false, nil
		}
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 1:
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		if err := l.check(l.username, string(response)); err != nil {
			return nil, true, err
		}
		return nil, true, nil
	}
	return nil, true, errors.New("smtpin: login: unexpected response")
}
