package assets

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// score drives an Alert over each life's p_fail sequence and fills the
// figures of res: a false alarm is a raised alarm whose window ends more
// than horizon_h before the failure; a failure is warned (alarmed) ahead
// when the state entered warn or alarm (alarm) at least Lead before it and
// stayed there until the life's last window.
func (d *evalData) score(p []float32, o EvalOptions, res *EvalResult) {
	horizon := d.meta.HorizonH
	lead := o.Lead.Hours()
	var warnLeads, alarmLeads []float64
	falseWarns := 0
	for start := 0; start < len(d.wlife); {
		end := start
		for end < len(d.wlife) && d.wlife[end] == d.wlife[start] {
			end++
		}
		a, _ := NewAlert(o.Thresholds) // thresholds validated by Evaluate
		warnSince, alarmSince := -1.0, -1.0
		for j := start; j < end; j++ {
			if math.IsNaN(float64(p[j])) {
				continue
			}
			prev := a.State()
			st, changed := a.Step(float64(p[j]))
			if !changed {
				continue
			}
			ttf := float64(d.wttf[j])
			switch st {
			case StateAlarm:
				if prev == StateOK {
					warnSince = ttf
					if ttf > horizon {
						falseWarns++
					}
				}
				alarmSince = ttf
				if ttf > horizon {
					res.FalseAlarms++
				}
			case StateWarn:
				warnSince = ttf
				if ttf > horizon {
					falseWarns++
				}
			case StateOK:
				warnSince, alarmSince = -1, -1
			}
		}
		warnLeads = append(warnLeads, warnSince)
		alarmLeads = append(alarmLeads, alarmSince)
		start = end
	}
	res.Failures = len(warnLeads)
	res.WarnedAhead, res.MedianWarnLeadH = aheadShare(warnLeads, lead)
	res.AlarmedAhead, res.MedianAlarmLeadH = aheadShare(alarmLeads, lead)
	if res.AssetWeeks > 0 {
		res.FalseAlarmsPerAssetWeek = float64(res.FalseAlarms) / res.AssetWeeks
		res.FalseWarningsPerAssetWeek = float64(falseWarns) / res.AssetWeeks
	}
}

// aheadShare returns the share of leads of at least lead hours and their
// median.
func aheadShare(leads []float64, lead float64) (float64, float64) {
	var ok []float64
	for _, l := range leads {
		if l >= lead {
			ok = append(ok, l)
		}
	}
	if len(leads) == 0 || len(ok) == 0 {
		return 0, 0
	}
	sort.Float64s(ok)
	med := ok[len(ok)/2]
	if len(ok)%2 == 0 {
		med = (ok[len(ok)/2-1] + ok[len(ok)/2]) / 2
	}
	return float64(len(ok)) / float64(len(leads)), med
}

// String prints the figures on one line.
func (r EvalResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "failures %d, asset-weeks %.1f, warned >= 1h ahead %.1f%%, alarmed >= 1h ahead %.1f%%, ",
		r.Failures, r.AssetWeeks, 100*r.WarnedAhead, 100*r.AlarmedAhead)
	fmt.Fprintf(&b, "median warn lead %.1fh, median alarm lead %.1fh, false alarms %d (%.2f per asset-week), ",
		r.MedianWarnLeadH, r.MedianAlarmLeadH, r.FalseAlarms, r.FalseAlarmsPerAssetWeek)
	fmt.Fprintf(&b, "false warnings %.2f per asset-week, windows %d (%d inferred, %d validity mismatches)",
		r.FalseWarningsPerAssetWeek, r.Windows, r.Inferred, r.Mismatches)
	return b.String()
}
