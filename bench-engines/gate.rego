# The cloud_staging -> cloud_prod gate of policies/phase-v.phasev, in Rego. A requirement is
# "pass", "fail" or "unknown" (a fact it needs is missing), as phasev decides it.
package phasev

import rego.v1

f := input

rungs := {"local_compose": 0, "local_k8s": 1, "cloud_staging": 2, "cloud_prod": 3}

default e2e := "unknown"

e2e := "fail" if f.tests.e2e.total <= 0

e2e := "fail" if f.tests.e2e.failed != 0

e2e := "pass" if {
	f.tests.e2e.total > 0
	f.tests.e2e.failed == 0
}

default balanced := "unknown"

balanced := "fail" if count(f.kafka.groups) == 0

balanced := "fail" if {
	some g in f.kafka.groups
	g.balanced == false
}

balanced := "pass" if {
	count(f.kafka.groups) > 0
	every g in f.kafka.groups {
		g.balanced == true
	}
}

lags := [g.lag | some g in f.kafka.groups]

default lag := "unknown"

lag := "fail" if count(f.kafka.groups) == 0

lag := "fail" if max(lags) > 1000

lag := "pass" if {
	count(f.kafka.groups) > 0
	max(lags) <= 1000
}

default within := "unknown"

within := "pass" if f.metrics.latency_p95 <= f.feature.budget.latency_p95

within := "fail" if f.metrics.latency_p95 > f.feature.budget.latency_p95

default error_rate := "unknown"

error_rate := "fail" if f.metrics.error_rate >= 0.001

error_rate := "fail" if f.metrics.error_rate > f.feature.budget.error_rate

error_rate := "pass" if {
	f.metrics.error_rate < 0.001
	f.metrics.error_rate <= f.feature.budget.error_rate
}

default rollback := "unknown"

rollback := "pass" if f.rollback.tested == true

rollback := "fail" if f.rollback.tested == false

default deps := "unknown"

deps := "fail" if {
	some d in f.feature.depends_on
	rungs[d.stage] < 3
}

deps := "pass" if {
	every d in f.feature.depends_on {
		rungs[d.stage] >= 3
	}
}

default regress := "unknown"

regress := "pass" if f.metrics.latency_p95 <= f.baseline.metrics.latency_p95 * 1.1

regress := "fail" if f.metrics.latency_p95 > f.baseline.metrics.latency_p95 * 1.1

required := [e2e, balanced, lag, within, error_rate, rollback, deps]

verdict := "fail" if {
	"fail" in required
} else := "inconclusive" if {
	"unknown" in required
} else := "warn" if {
	regress != "pass"
} else := "pass"
