package inbound

import (
	"crypto/hmac"
	"crypto/sha256"
)

// refKeyLabel names the key of the X-Posthaste-Ref tags among the keys derived from the server
// secret (POSTHASTE_SECRET_KEY). It must never change: references in mail already sent would
// stop verifying.
const refKeyLabel = "posthaste inbound reference key v1"

// RefKey derives the key of the X-Posthaste-Ref tags (Ref, VerifyRef) from the server secret:
// HMAC-SHA256(secret, refKeyLabel), so the secret itself never signs anything else. It returns
// nil without a secret (the worker then adds no reference and the intake verifies none).
// The delivery worker and the MX intake must derive it the same way: both get it from here.
func RefKey(serverSecret []byte) []byte {
	if len(serverSecret) == 0 {
		return nil
	}
	h := hmac.New(sha256.New, serverSecret)
	h.Write([]byte(refKeyLabel))
	return h.Sum(nil)
}

// RefMaker returns the value maker of the worker's X-Posthaste-Ref field under key
// (delivery.WorkerConfig.Ref), or nil without a key (no field is added).
func RefMaker(key []byte) func(messageID string) string {
	if len(key) == 0 {
		return nil
	}
	return func(id string) string { return Ref(key, id) }
}
