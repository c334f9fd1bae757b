package httpapi

import (
	"io"
	"mime/quotedprintable"
)

func quotedPrintableReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }
