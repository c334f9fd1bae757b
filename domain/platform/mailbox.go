package platform

// CheckMailbox checks an address a person typed (display name and comments allowed, the address
// itself a valid RFC 5321 mailbox, ASCII only) and returns the mailbox in RFC 5321 form. A bad
// one is an ErrInvalid error naming it with the diagnosis ("%q is not a valid email address:
// <text> (<ISEMAIL_ERR_…>)"): the check SendTest makes, for the edges that take an address on
// their own (`suppression add`) before calling the application.
func CheckMailbox(s string) (string, error) { return mailbox(s) }
