package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/clientperm"
	"github.com/wardenhq/warden/cluster"
	"github.com/wardenhq/warden/httpapi"
	"github.com/wardenhq/warden/incident"
	"github.com/wardenhq/warden/ingest"
	"github.com/wardenhq/warden/internal/demo"
	"github.com/wardenhq/warden/internal/httpx"
	"github.com/wardenhq/warden/notify"
	"github.com/wardenhq/warden/partner"
	"github.com/wardenhq/warden/sqlstore"
	"github.com/wardenhq/warden/survey"
	"github.com/wardenhq/warden/synth"
	"github.com/wardenhq/warden/web"
)

type serveConfig struct {
	addr, adminAddr string
	data, db        string
	rules           string
	demo            bool
	webhookURL      string
	webhookSecret   string
	smtpAddr        string
	smtpFrom        string
	smtpUser        string
	smtpPassword    string
	smtpTLS         string
	policyURL       string
	admin2FA        bool
	demoRate        float64
	logLevel        string
	logJSON         bool
	shutdown        time.Duration
	snapshotEvery   time.Duration
	trustedProxies  string
	publicOrigins   []string
	partnerKey      string
	partnerK        int
	partnerIssuer   string
	partnerSigning  string
	cluster         clusterConfig
}

func init() {
	var c serveConfig
	cmd := &cobra.Command{
		Use:   "serve [--addr :8080] [--data DIR] [--db URL] [--rules DIR] [--demo]",
		Short: "Run Warden: event intake, verdicts, the console and the API",
		Long: `Runs everything in one process. With no flags: SQLite under ./warden-data, the
built-in rule pack, the API and console on :8080, metrics on 127.0.0.1:9090.

--demo also feeds synthetic traffic with bot campaigns in it, creates an admin
user if there is none, and prints how to sign in; admins' two-factor sign-in is
then optional (--admin-2fa=true requires it there too).

Every flag can be set by a WARDEN_* environment variable: --db is WARDEN_DB,
--admin-addr is WARDEN_ADMIN_ADDR. A flag on the command line wins.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd); err != nil {
				return err
			}
			// The demo is for seeing every pillar within a minute, without
			// an authenticator app at hand: admins' second factor is
			// offered there, not required, unless the flag says so.
			if c.demo && !cmd.Flags().Changed("admin-2fa") {
				c.admin2FA = false
			}
			return serve(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.addr, "addr", ":8080", "address for the API and the console")
	f.StringVar(&c.adminAddr, "admin-addr", "127.0.0.1:9090", "address for /metrics (operators only); empty to disable")
	storeFlags(cmd, &c.data, &c.db)
	f.StringVar(&c.rules, "rules", "", "rule-set directory, hot-reloaded on change; empty for the built-in pack")
	f.BoolVar(&c.demo, "demo", false, "feed synthetic traffic with bot campaigns, and set up a console sign-in")
	f.Float64Var(&c.demoRate, "demo-rate", 40, "with --demo: ordinary events per second")
	f.StringVar(&c.webhookURL, "webhook-url", "", "the platform's endpoint for notifications (receipts, decisions, exposure notices), HMAC-signed")
	f.StringVar(&c.webhookSecret, "webhook-secret", "", "the HMAC secret for --webhook-url (prefer WARDEN_WEBHOOK_SECRET)")
	f.StringVar(&c.smtpAddr, "smtp-addr", "", "host:port of an SMTP server to e-mail notifications to reporters who gave an address")
	f.StringVar(&c.smtpFrom, "smtp-from", "", "sender address for e-mailed notifications")
	f.StringVar(&c.smtpUser, "smtp-user", "", "SMTP user (PLAIN auth)")
	f.StringVar(&c.smtpPassword, "smtp-password", "", "SMTP password (prefer WARDEN_SMTP_PASSWORD)")
	f.StringVar(&c.smtpTLS, "smtp-tls", "opportunistic", "STARTTLS policy for --smtp-addr: opportunistic, mandatory or none")
	f.StringVar(&c.policyURL, "policy-url", "", "the public terms page cited in statements of reasons")
	f.BoolVar(&c.admin2FA, "admin-2fa", true, "console admins must turn on two-factor sign-in (TOTP) before anything else (default true; false with --demo)")
	f.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&c.logJSON, "log-json", false, "log JSON lines instead of text")
	f.DurationVar(&c.shutdown, "shutdown-timeout", 20*time.Second, "how long to wait for in-flight requests on shutdown")
	f.DurationVar(&c.snapshotEvery, "snapshot-every", time.Minute, "how often the engine's state (counters, detectors, rule labels) is snapshotted with its event-log position; a start replays the log after it")
	f.StringVar(&c.trustedProxies, "trusted-proxies", "", "reverse proxies in front of Warden (comma-separated addresses or CIDR prefixes): requests from them are attributed, and rate-limited, by the X-Forwarded-For address they add")
	f.StringSliceVar(&c.publicOrigins, "public-origin", nil, "the console's public origin(s), such as https://warden.example.com, when a reverse proxy rewrites the Host header")
	f.StringVar(&c.partnerKey, "partner-key", "", "the partner group's shared HMAC key file (mode 0600, at least 32 bytes): turns partner sharing on (docs/partners.md)")
	f.IntVar(&c.partnerK, "partner-k", partner.DefaultK, "partner sharing: an indicator is shared only when at least this many distinct restricted accounts carry it, and imported only then")
	f.StringVar(&c.partnerIssuer, "partner-issuer", "", "partner sharing: this server's name in its feeds (default: the host name)")
	f.StringVar(&c.partnerSigning, "partner-signing-key", "", "partner sharing: this server's feed signing key file (default DATA/partner-signing.key, made if absent; `warden partners key` prints its public key)")
	clusterFlags(f, &c.cluster)
	root.AddCommand(cmd)
}

// openPartners starts partner sharing when --partner-key is set, or with
// --demo (a group key of the demo's own, made under --data); nil when
// neither is. It returns the group key too, for the demo's partners.
func openPartners(ctx context.Context, c serveConfig, st *sqlstore.DB, logger *slog.Logger) (*partner.Service, []byte, error) {
	if c.partnerKey == "" && !c.demo {
		return nil, nil, nil
	}
	if c.partnerK < 1 {
		return nil, nil, usagef("--partner-k must be at least 1")
	}
	var group []byte
	var err error
	if c.partnerKey != "" {
		group, err = partner.ReadGroupKey(c.partnerKey)
	} else {
		group, err = partner.EnsureGroupKey(filepath.Join(c.data, "partner-group.key"))
	}
	if err != nil {
		return nil, nil, usagef("--partner-key: %s", cliMessage(err))
	}
	signing, err := partner.LoadSigningKey(signingKeyPath(c.data, c.partnerSigning))
	if err != nil {
		return nil, nil, usagef("--partner-signing-key: %s", cliMessage(err))
	}
	issuer := c.partnerIssuer
	if issuer == "" {
		if issuer, err = os.Hostname(); err != nil || issuer == "" {
			issuer = "warden"
		}
	}
	ps, err := partner.New(ctx, partner.Config{GroupKey: group, SigningKey: signing, Issuer: issuer, K: c.partnerK, Store: st, Logger: logger})
	return ps, group, err
}

func serve(parent context.Context, c serveConfig) error {
	if c.smtpAddr != "" {
		if err := (&notify.Mail{Addr: c.smtpAddr, From: c.smtpFrom, TLS: c.smtpTLS}).Check(); err != nil {
			return usagef("--smtp-*: %v", err)
		}
	}
	if c.webhookURL != "" && c.webhookSecret == "" {
		return usagef("--webhook-url needs --webhook-secret (or WARDEN_WEBHOOK_SECRET): the platform must be able to verify notifications")
	}
	if c.snapshotEvery <= 0 {
		return usagef("--snapshot-every must be positive, such as 1m")
	}
	proxies, err := httpx.ParseProxies(c.trustedProxies)
	if err != nil {
		return usagef("--trusted-proxies: %v", err)
	}
	for _, o := range c.publicOrigins {
		// The console's own check, run now so a typo is a usage error
		// rather than a console that refuses every form.
		if err := http.NewCrossOriginProtection().AddTrustedOrigin(o); err != nil {
			return usagef("--public-origin %q: %v", o, err)
		}
	}
	logger := newLogger(c.logLevel, c.logJSON)
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := openStore(ctx, c.data, c.db, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// One outbox worker per process: claims let every replica on one
	// PostgreSQL run one.
	outbox := notify.New(notify.Options{Outbox: st, Logger: logger, Registerer: reg,
		Webhook: &notify.Webhook{URL: c.webhookURL, Secret: c.webhookSecret},
		Mail:    &notify.Mail{Addr: c.smtpAddr, From: c.smtpFrom, Username: c.smtpUser, Password: c.smtpPassword, TLS: c.smtpTLS}})
	svc, err := incident.New(ctx, incident.Options{DB: st, Logger: logger, PolicyURL: c.policyURL, Outbound: outbox, Registerer: reg})
	if err != nil {
		return err
	}
	ps, group, err := openPartners(ctx, c, st, logger)
	if err != nil {
		return err
	}
	// In a cluster each partition's engine evaluates and reports metrics
	// (labelled by partition); this one serves the console's rules page.
	engineReg := prometheus.Registerer(reg)
	if c.cluster.nats != "" {
		engineReg = nil
	}
	eng, err := openEngine(c, st, svc, ps, logger, engineReg)
	if err != nil {
		return err
	}
	if ps != nil {
		// Lists imported on another server sharing the store are read
		// here within 30 seconds.
		go ps.Run(ctx, 30*time.Second)
	}
	go eng.Run(ctx)

	// Flagged verdicts become cases for a person to decide.
	bridge := svc.NewVerdictBridge(0)
	go bridge.Run(ctx)
	evlog := sqlstore.NewEventLog(st)
	onAccepted := func(evs []warden.Event, vs []warden.Verdict) {
		consoleFeed.Add(evs, vs)
		bridge.Observe(evs, vs)
	}
	// One node: the engine's state follows the event log. In a cluster
	// (--nats), each partition's state follows its stream (docs/cluster.md).
	var in *ingest.Ingester
	var node *cluster.Node
	var intake eventIntake
	if c.cluster.nats != "" {
		node, err = joinCluster(ctx, c, st, evlog, svc, ps, logger, reg, outbox, onAccepted)
		intake = node
	} else {
		in, err = ingest.New(ctx, ingest.Options{Log: evlog, Engine: eng, Logger: logger, Registerer: reg, Outbound: outbox,
			StatePath: filepath.Join(c.data, "engine", "state.snap"), OnAccepted: onAccepted})
		intake = in
	}
	if err != nil {
		evlog.Close()
		return err
	}
	if in != nil {
		go in.Run(ctx, c.snapshotEvery)
	}
	api := httpapi.New(httpapi.Options{DB: st, Ingest: intake, Logger: logger, Registry: reg, TrustedProxies: proxies})
	var ready atomic.Bool
	api.SetReady(func() bool { return ready.Load() && (node == nil || node.Healthy()) })
	salt, err := survey.EnsureSalt(filepath.Join(c.data, survey.SaltFile))
	if err != nil {
		evlog.Close()
		return err
	}
	themes, err := survey.LoadThemes(filepath.Join(c.data, survey.ThemesFile))
	if err != nil {
		evlog.Close()
		return err
	}
	priv, err := openPrivacy(c.data, st, c.policyURL)
	if err != nil {
		evlog.Close()
		return err
	}
	priv.optionalAdmin2FA = !c.admin2FA
	console := mountRoutes(api, st, eng, svc, ps, priv, salt, themes, logger, c.publicOrigins)
	if console != nil {
		var cs web.ClusterStatus // nil on one node: the page says so
		if node != nil {
			cs = node
		}
		console.MountCluster(cs)
		// The Trust page's report of the stored waves, computed ahead.
		go console.WarmInsights(ctx)
	}
	priv.ledgers.start(ctx, logger, reg)
	defer priv.ledgers.access.Close()
	go outbox.Run(ctx, time.Second)

	srv := &http.Server{Addr: c.addr, Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		evlog.Close()
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	var admin *http.Server
	if c.adminAddr != "" {
		admin = &http.Server{Addr: c.adminAddr, Handler: api.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
		aln, err := net.Listen("tcp", c.adminAddr)
		if err != nil {
			srv.Close()
			evlog.Close()
			return fmt.Errorf("listen on %s: %w", c.adminAddr, err)
		}
		go func() { errc <- admin.Serve(aln) }()
	}
	if node != nil {
		adminURL := ""
		if c.adminAddr != "" {
			adminURL = "http://" + c.adminAddr
		}
		node.SetURLs("http://"+ln.Addr().String(), adminURL)
	}
	ready.Store(true)
	logger.Info("warden is serving", "addr", ln.Addr().String(), "admin", c.adminAddr, "store", st.Dialect, "version", warden.Version)

	demoDone := make(chan struct{})
	if c.demo {
		if err := demoSetup(ctx, st, priv, ln.Addr().String()); err != nil {
			logger.Error("demo setup failed", "err", err)
		}
		// The demo app's sensitive reads: a flag and an inactive
		// capability on the console's App permissions page.
		if err := demo.ClientPermissions(ctx, clientperm.New(clientperm.Options{Store: st, Mac: priv.permMac}), demoUser, time.Now()); err != nil {
			logger.Error("demo client permissions failed", "err", err)
		}
		var feeders sync.WaitGroup
		feeders.Go(func() { runDemo(ctx, intake, c.demoRate, logger) })
		// A partner feed arrives, and the partners' scammers try to sign up.
		feeders.Go(func() {
			err := demo.Partners(ctx, demo.PartnerOptions{DB: st, Partners: ps, Group: group, Logger: logger,
				Ingest: func(ctx context.Context, evs []warden.Event) error { _, err := intake.Ingest(ctx, evs); return err }})
			if err != nil {
				logger.Error("demo partners stopped", "err", err)
			}
		})
		go func() { feeders.Wait(); close(demoDone) }()
		// A survey wave in seven regions, some respondents exposed to a
		// scammer that gets banned, so the trust call has data.
		go func() {
			err := demo.Survey(ctx, demo.SurveyOptions{DB: st, Service: svc, Salt: salt, Seed: 1,
				Ingest: func(ctx context.Context, evs []warden.Event) error { _, err := intake.Ingest(ctx, evs); return err }})
			if err != nil && ctx.Err() == nil {
				logger.Error("demo survey failed", "err", err)
			}
			console.WarmInsights(ctx)
		}()
		// The demo user's access ledger: a few entries, one flagged, and
		// an open data request.
		if err := demo.Ledger(ctx, demo.LedgerOptions{Access: priv.ledgers.access, Requests: priv.ledgers.requests, User: demoUser}); err != nil {
			logger.Error("demo ledger failed", "err", err)
		}
		// Simulated moderators work the queue, so decisions, statements,
		// appeals and the transparency report have data within a minute.
		go func() {
			if err := demo.Run(ctx, demo.Options{DB: st, Service: svc, Logger: logger}); err != nil {
				logger.Error("demo moderators stopped", "err", err)
			}
		}()
	} else {
		close(demoDone)
	}

	var failed error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("server failed", "err", err)
			failed = fmt.Errorf("server failed: %w", err)
		}
	}
	// Drain: stop taking requests, let in-flight ones finish (each waits
	// for its events to be durable), then close the log and the engine.
	ready.Store(false)
	logger.Info("shutting down: draining in-flight requests", "timeout", c.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("drain incomplete", "err", err)
	}
	if admin != nil {
		admin.Shutdown(sctx)
	}
	<-demoDone
	// Intake has stopped: the last snapshot spares the next start a replay;
	// a cluster node hands its partitions over, each snapshotted.
	if in != nil {
		if err := in.Snapshot(context.Background()); err != nil {
			logger.Error("final engine state snapshot failed; the next start replays the log", "err", err)
		}
	}
	if node != nil {
		node.Close()
	}
	evlog.Close()
	logger.Info("stopped")
	return failed
}

// eventIntake is where serve sends events: the ingester on one node, the
// cluster node with --nats.
type eventIntake interface {
	Ingest(ctx context.Context, evs []warden.Event) ([][]byte, error)
}

// demoSetup makes sure someone can sign in to the console, and says how.
func demoSetup(ctx context.Context, st *sqlstore.DB, priv *privacy, addr string) error {
	host := addr
	if h, p, err := net.SplitHostPort(addr); err == nil && (h == "::" || h == "0.0.0.0" || h == "") {
		host = "localhost:" + p
	}
	n, err := st.CountUsers(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n  Warden demo is running: open http://%s/\n", host)
	if n == 0 {
		b := make([]byte, 12)
		rand.Read(b)
		pw := base64.RawURLEncoding.EncodeToString(b)
		if _, err := st.CreateUser(ctx, "admin", pw, warden.RoleAdmin); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "  Sign in as admin with password %s (shown once; make more users with `warden users create`)\n", pw)
	} else {
		fmt.Fprintf(os.Stderr, "  Sign in with an existing console user (`warden users create` makes one)\n")
	}
	// Each start prints a fresh demo key; the previous ones are revoked so
	// that restarts do not pile up live keys nobody holds any more.
	keys, err := st.ListKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Name == "demo" && k.Role == warden.RoleApp && k.RevokedUS == nil {
			if err := st.RevokeKey(ctx, k.ID); err != nil {
				return err
			}
		}
	}
	secret, _, err := st.CreateKey(ctx, warden.RoleApp, "demo")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  An app key for curl: %s\n", secret)
	link, err := demoPrivacy(ctx, priv, "http://"+host)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %s has a material change to the terms pending: curl -H 'Authorization: Bearer %s' http://%s/v1/users/%s/consent\n", demoUser, secret, host, demoUser)
	if link != "" {
		fmt.Fprintf(os.Stderr, "  Their safety and privacy center (link valid 15 minutes; POST /v1/users/%s/center makes another): %s\n", demoUser, link)
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// runDemo feeds synthetic traffic at real-time pace, in small batches, as
// the platform's backend would.
func runDemo(ctx context.Context, in eventIntake, rate float64, logger *slog.Logger) {
	b := make([]byte, 4)
	rand.Read(b)
	run := base64.RawURLEncoding.EncodeToString(b)
	g := synth.New(synth.Config{Seed: time.Now().UnixNano(), Accounts: 2000, Rate: rate, Every: 5 * time.Second}) // campaigns early and often, so a newcomer sees catches in the first minute
	var batch []warden.Event
	last := time.Now()
	err := synth.Pace(ctx, g, 1, func(ev warden.Event, _ synth.Truth) error {
		ev.ID = "demo-" + run + "-" + ev.ID
		batch = append(batch, ev)
		if time.Since(last) < 250*time.Millisecond {
			return nil
		}
		last = time.Now()
		_, err := in.Ingest(ctx, batch)
		batch = batch[:0]
		return err
	})
	if err != nil && ctx.Err() == nil {
		logger.Error("demo traffic stopped", "err", err)
	}
}
