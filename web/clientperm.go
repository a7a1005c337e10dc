package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
)

// MountClientPermissions registers the admins' page of the
// sensitive-permission report (GET /client-permissions?app_version=&days=),
// linked in the navigation as "App permissions".
func (c *Console) MountClientPermissions(svc *clientperm.Service) {
	c.Page("GET /client-permissions", []string{warden.RoleAdmin}, func(w http.ResponseWriter, r *http.Request, _ *warden.User) error {
		return c.clientPermissions(w, r, svc)
	})
	c.Nav("App permissions", "/client-permissions", warden.RoleAdmin)
}

// clientPermData is the report page's data.
type clientPermData struct {
	Versions   []string
	AppVersion string
	Days       int
	Report     *clientperm.Report
	Error      string
}

func (c *Console) clientPermissions(w http.ResponseWriter, r *http.Request, svc *clientperm.Service) error {
	d := clientPermData{Days: 90, AppVersion: r.URL.Query().Get("app_version")}
	var err error
	if d.Versions, err = svc.AppVersions(r.Context()); err != nil {
		return err
	}
	if v := r.URL.Query().Get("days"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || clientperm.CheckDays("days", n) != nil {
			d.Error = "Days must be a whole number from 1 to " + strconv.Itoa(clientperm.MaxDays) + "."
			return c.RenderStatus(w, r, http.StatusUnprocessableEntity, "client_permissions.html", d)
		}
		d.Days = n
	}
	if d.AppVersion == "" && len(d.Versions) > 0 {
		d.AppVersion = d.Versions[0]
	}
	if d.AppVersion != "" && !slices.Contains(d.Versions, d.AppVersion) {
		d.Versions = append([]string{d.AppVersion}, d.Versions...)
	}
	if d.AppVersion != "" {
		rep, err := svc.Report(r.Context(), d.AppVersion, d.Days)
		if err != nil {
			if warden.ErrorCode(err) == warden.EINTERNAL {
				return err
			}
			d.Error = warden.ErrorMessage(err)
			return c.RenderStatus(w, r, http.StatusUnprocessableEntity, "client_permissions.html", d)
		}
		d.Report = rep
	}
	return c.Render(w, r, "client_permissions.html", d)
}
