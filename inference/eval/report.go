package eval

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lineside/lineside/sensors/assets"
)

// Figure is one measured value, for the `quality:` lines scripts read.
type Figure struct {
	// Name is the figure's name, e.g. accuracy or recall.crack.
	Name string
	// Value is the figure in Unit.
	Value float64
	// Unit is ratio, hours, count or per_asset_week.
	Unit string
}

// Figures returns the report's headline figures.
func (r *Report) Figures() []Figure {
	switch {
	case r.Defect != nil:
		d := r.Defect
		fs := []Figure{{"accuracy", d.Accuracy, "ratio"}, {"min_recall", d.MinRecall(), "ratio"}}
		for i, l := range d.Labels {
			fs = append(fs, Figure{"recall." + l, d.Recall[i], "ratio"})
		}
		return append(fs, Figure{"images", float64(d.N), "count"})
	case r.Pdm != nil:
		p := r.Pdm
		return []Figure{
			{"warned_ahead", p.WarnedAhead, "ratio"},
			{"median_warn_lead", p.MedianWarnLeadH, "hours"},
			{"false_alarms_per_asset_week", p.FalseAlarmsPerAssetWeek, "per_asset_week"},
			{"alarmed_ahead", p.AlarmedAhead, "ratio"},
			{"median_alarm_lead", p.MedianAlarmLeadH, "hours"},
			{"false_warnings_per_asset_week", p.FalseWarningsPerAssetWeek, "per_asset_week"},
			{"failures", float64(p.Failures), "count"},
			{"asset_weeks", p.AssetWeeks, "asset_weeks"},
		}
	}
	return nil
}

// WriteLines writes one line per figure, `quality: NAME/FIGURE value=V
// unit=U`, for scripts.
func (r *Report) WriteLines(w io.Writer, name string) {
	for _, f := range r.Figures() {
		fmt.Fprintf(w, "quality: %s/%s value=%.4f unit=%s\n", name, f.Name, f.Value, f.Unit)
	}
}

// WriteTable writes the report for people: what was evaluated, then the
// figures, with the confusion matrix for a classifier.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "model    %s (version %s)\n", r.Model, r.Version)
	fmt.Fprintf(w, "dataset  %s (kind %s, seed %d)\n", r.Data, r.Kind, r.Seed)
	if r.Defect != nil {
		writeDefect(w, r.Defect)
	}
	if r.Pdm != nil {
		writePdm(w, r.Pdm)
	}
	fmt.Fprintf(w, "took     %v\n", r.Took.Round(time.Millisecond))
}

func writeDefect(w io.Writer, d *DefectResult) {
	fmt.Fprintf(w, "shift    lighting %g, noise %g, blur %g\n\n", d.Lighting, d.Noise, d.Blur)
	fmt.Fprintf(w, "accuracy %.2f %% (%d of %d images)\n\n", 100*d.Accuracy, d.Correct, d.N)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "true \\ predicted\t%s\trecall\t\n", strings.Join(d.Labels, "\t"))
	for t, row := range d.Confusion {
		cells := make([]string, len(row))
		for p, v := range row {
			cells[p] = fmt.Sprint(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", d.Labels[t], strings.Join(cells, "\t"), percent(d.Recall[t]))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func writePdm(w io.Writer, p *assets.EvalResult) {
	fmt.Fprintf(w, "lives    %d failures over %.1f asset-weeks; %d of %d windows inferred\n\n",
		p.Failures, p.AssetWeeks, p.Inferred, p.Windows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "failures warned >= 1 h ahead\t%s\n", percent(p.WarnedAhead))
	fmt.Fprintf(tw, "median warning lead\t%.1f h\n", p.MedianWarnLeadH)
	fmt.Fprintf(tw, "false alarms per asset-week\t%.2f (%d)\n", p.FalseAlarmsPerAssetWeek, p.FalseAlarms)
	fmt.Fprintf(tw, "failures alarmed >= 1 h ahead\t%s\n", percent(p.AlarmedAhead))
	fmt.Fprintf(tw, "median alarm lead\t%.1f h\n", p.MedianAlarmLeadH)
	fmt.Fprintf(tw, "false warnings per asset-week\t%.2f\n", p.FalseWarningsPerAssetWeek)
	if p.Mismatches > 0 {
		fmt.Fprintf(tw, "windowing mismatches (should be 0)\t%d\n", p.Mismatches)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// percent formats a ratio, or a dash for NaN.
func percent(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f %%", 100*v)
}
