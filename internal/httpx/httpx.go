// Package httpx holds the HTTP helpers that the API (httpapi) and the
// console (web) share: per-key rate limiting, the client address of a
// request behind trusted reverse proxies, and the HTTP status of each error
// code. It knows nothing of routes, keys or sessions.
package httpx

import (
	"net/http"

	"github.com/wardenhq/warden"
)

// StatusOf maps an error code to its HTTP status.
func StatusOf(code string) int {
	switch code {
	case warden.EINVALID:
		return http.StatusBadRequest
	case warden.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case warden.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case warden.EFORBIDDEN:
		return http.StatusForbidden
	case warden.ENOTFOUND:
		return http.StatusNotFound
	case warden.ECONFLICT:
		return http.StatusConflict
	case warden.EUNPROCESSABLE, warden.EUNVERIFIED:
		return http.StatusUnprocessableEntity
	case warden.ERATELIMIT:
		return http.StatusTooManyRequests
	case warden.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
