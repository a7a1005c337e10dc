package messaging

import (
	"context"
	"slices"
	"strings"

	"github.com/wardenhq/warden"
	"github.com/wardenhq/warden/survey"
)

// Store keeps the experiments admins put.
type Store interface {
	MessageExperiments(ctx context.Context) ([]Experiment, error)
	SaveMessageExperiment(ctx context.Context, e Experiment, by string) (created bool, err error)
}

// Service is the experiments in effect: the built-in ones, replaced by
// stored ones of the same id, plus the other stored ones.
type Service struct {
	store    Store
	salt     []byte
	defaults []Experiment
}

// New returns a Service over store. salt is the survey salt that
// pseudonymises platform ids (survey.HashID); assignment needs it.
func New(store Store, salt []byte) *Service {
	return &Service{store: store, salt: salt, defaults: Defaults()}
}

// Experiments lists the experiments in effect, by id.
func (s *Service) Experiments(ctx context.Context) ([]Experiment, error) {
	stored, err := s.store.MessageExperiments(ctx)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(stored)
	for _, d := range s.defaults {
		if !slices.ContainsFunc(stored, func(e Experiment) bool { return e.ID == d.ID }) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Experiment) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Put validates e and stores it, replacing the experiment of its id. A
// region that another running experiment has is an ECONFLICT: a user sees
// one message. It reports whether e is new.
func (s *Service) Put(ctx context.Context, e Experiment, by string) (bool, error) {
	if err := e.Validate(); err != nil {
		return false, err
	}
	es, err := s.Experiments(ctx)
	if err != nil {
		return false, err
	}
	others := slices.DeleteFunc(es, func(o Experiment) bool { return o.ID == e.ID })
	if err := Overlap(e, others); err != nil {
		return false, err
	}
	return s.store.SaveMessageExperiment(ctx, e, by)
}

// Assign returns what the platform user user is shown in region: the
// pseudonym is the survey's hash of their id, so the respondents of a
// later wave fall in the same arms.
func (s *Service) Assign(ctx context.Context, user, region string) (Assignment, error) {
	if user == "" || len(user) > survey.MaxPlatformID {
		return Assignment{}, warden.FieldErrorf("user", "user is the platform's account id, 1 to %d bytes", survey.MaxPlatformID)
	}
	reg, err := survey.Region(region)
	if err != nil {
		return Assignment{}, warden.FieldErrorf("region", "%s", err)
	}
	if len(s.salt) < survey.SaltSize {
		return Assignment{}, warden.Errorf(warden.EUNAVAILABLE, "no survey salt is configured: users cannot be assigned")
	}
	es, err := s.Experiments(ctx)
	if err != nil {
		return Assignment{}, err
	}
	return Assign(es, survey.HashID(s.salt, user), reg), nil
}

// Results computes the results in wave w of every experiment in effect,
// or only of experiment id when id is not "" (ENOTFOUND if none has it).
func (s *Service) Results(ctx context.Context, w *survey.Wave, id string) ([]Results, error) {
	es, err := s.Experiments(ctx)
	if err != nil {
		return nil, err
	}
	out := []Results{}
	for i := range es {
		if id == "" || es[i].ID == id {
			out = append(out, Analyze(&es[i], w))
		}
	}
	if id != "" && len(out) == 0 {
		return nil, warden.Errorf(warden.ENOTFOUND, "no messaging experiment %q", id)
	}
	return out, nil
}
