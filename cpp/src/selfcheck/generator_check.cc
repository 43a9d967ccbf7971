#include "selfcheck/generator_check.h"

#include <pthread.h>

#include <algorithm>
#include <ctime>

#include "logging/format.h"

namespace loadgen {
SelfCheckingClient::~SelfCheckingClient() = default;
}  // namespace loadgen

namespace loadgen::selfcheck {
namespace {

/// The rule's constants (docs/self-check.md#the-rule).
constexpr int64_t kLatenessFloorNs = 1000000;        // 1 ms
constexpr double kLatenessInterarrivals = 1.0;       // bound: this many mean gaps
constexpr uint64_t kMinTimedQueries = 100;           // fewer: a p99 is only the maximum
constexpr double kConnectionWaitLatencyShare = 0.1;  // of the mean latency
constexpr double kClientCpuShare = 0.9;              // of the series' wall time
constexpr double kCallbackCause = 0.5;               // issue wall time in the SUT's call
constexpr double kIssueCpuCause = 0.9;

double Share(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

void ApplyRule(const SeriesMeasures& m, GeneratorCheck& c) {
  // Lateness: the schedule was not kept when 1 % of the timed queries left later than a mean
  // inter-arrival gap (the arrival process is no longer the one asked for) and later than the
  // floor (below it, the delay is machine noise that no latency target notices).
  c.lateness_bound_ns = std::max<int64_t>(
      kLatenessFloorNs,
      static_cast<int64_t>(kLatenessInterarrivals * static_cast<double>(c.mean_interarrival_ns)));
  if (c.timed_queries >= kMinTimedQueries && c.lateness_p99_ns > c.lateness_bound_ns) {
    c.reasons.emplace_back("lateness");
    if (c.issue_callback_share >= kCallbackCause) {
      c.cause = "sut_issue_callback";
    } else if (c.issue_cpu_share >= kIssueCpuCause) {
      c.cause = "issue_thread_cpu";
    } else {
      c.cause = "scheduling";
    }
  }
  if (m.has_client && c.client_queries > 0 && m.mean_latency_ns > 0 &&
      static_cast<double>(c.connection_wait_mean_ns) >
          kConnectionWaitLatencyShare * static_cast<double>(m.mean_latency_ns)) {
    c.notes.emplace_back("client_connections");
  }
  if (m.has_client && c.client_io_cpu_share >= kClientCpuShare) {
    c.reasons.emplace_back("client_io_cpu");
  }
  c.generator_limited = !c.reasons.empty();
}

void AppendDouble(std::string& out, double v) { out += logging::FormatG6(v); }

}  // namespace

int64_t ThreadCpuNs(std::thread::native_handle_type thread) {
  clockid_t clock{};
  if (pthread_getcpuclockid(thread, &clock) != 0) return 0;
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::vector<OutstandingPoint> OutstandingProfile(const record::SeriesRecorder& rec,
                                                 uint64_t queries, int64_t start_ns, int64_t end_ns,
                                                 int points) {
  std::vector<OutstandingPoint> out;
  if (points < 2 || end_ns <= start_ns) return out;
  const int64_t span = end_ns - start_ns;
  // Changes per interval: +1 where a sample was issued, -1 where it completed; the count at
  // point k is the sum of the changes of the intervals before it.
  std::vector<int64_t> delta(static_cast<size_t>(points) + 1, 0);
  auto slot = [&](int64_t t) {
    if (t <= start_ns) return size_t{0};
    const int64_t k = ((t - start_ns) * (points - 1) + span - 1) / span;  // first point >= t
    return static_cast<size_t>(std::min<int64_t>(k, points));
  };
  const uint64_t spq = rec.plan().samples_per_query;
  for (uint64_t q = 0; q < queries; ++q) {
    const int64_t issued = rec.issued_ns(q);
    if (issued == 0) continue;  // not issued (another thread's, or after a stop)
    const size_t issued_slot = slot(issued);
    for (uint64_t local = q * spq; local < (q + 1) * spq; ++local) {
      delta[issued_slot] += 1;
      if (rec.SampleCompleted(local)) delta[slot(rec.scheduled_ns(q) + rec.latency(local))] -= 1;
    }
  }
  int64_t running = 0;
  out.reserve(static_cast<size_t>(points));
  for (int k = 0; k < points; ++k) {
    running += delta[static_cast<size_t>(k)];
    OutstandingPoint p;
    p.time_s = static_cast<double>(span) * k / (points - 1) / 1e9;
    p.samples = static_cast<uint64_t>(std::max<int64_t>(running, 0));
    out.push_back(p);
  }
  return out;
}

GeneratorCheck Evaluate(const SeriesMeasures& m) {
  GeneratorCheck c;
  const issue::IssueCheck& ic = *m.issue;
  c.timed_queries = ic.timed_queries;
  if (ic.timed_queries > 0) {
    c.lateness_mean_ns = ic.lateness_sum_ns / static_cast<int64_t>(ic.timed_queries);
    c.lateness_p50_ns = std::min(ic.lateness.Quantile(0.5), ic.lateness_max_ns);
    c.lateness_p90_ns = std::min(ic.lateness.Quantile(0.9), ic.lateness_max_ns);
    c.lateness_p99_ns = std::min(ic.lateness.Quantile(0.99), ic.lateness_max_ns);
    c.lateness_max_ns = ic.lateness_max_ns;
  }
  if (ic.timed_queries > 1) {
    c.mean_interarrival_ns =
        (ic.last_scheduled_ns - ic.first_scheduled_ns) / static_cast<int64_t>(ic.timed_queries - 1);
  }
  c.reissue_count = ic.reissue_count;
  if (ic.reissue_count > 0) {
    c.reissue_mean_ns = ic.reissue_sum_ns / static_cast<int64_t>(ic.reissue_count);
    c.reissue_max_ns = ic.reissue_max_ns;
  }
  const int64_t wall = m.end_ns - m.start_ns;
  c.series_duration_s = static_cast<double>(wall) / 1e9;
  c.issue_threads = ic.threads;
  const int64_t issue_wall =
      ic.thread_wall_ns * static_cast<int64_t>(std::max<uint64_t>(ic.threads, 1));
  c.issue_cpu_share = Share(ic.thread_cpu_ns, issue_wall);
  c.issue_callback_share = Share(ic.callback_ns, issue_wall);
  c.log_thread_cpu_share = Share(m.log_thread_cpu_ns, wall);
  c.has_client = m.has_client;
  if (m.has_client) {
    c.client_io_cpu_share = Share(m.client.io_thread_cpu_ns, wall);
    c.client_queries = m.client.queries;
    c.connection_waits = m.client.connection_waits;
    if (m.client.queries > 0) {
      c.connection_wait_mean_ns =
          m.client.connection_wait_total_ns / static_cast<int64_t>(m.client.queries);
    }
    c.connection_wait_max_ns = m.client.connection_wait_max_ns;
  }
  c.max_outstanding = ic.max_outstanding;
  if (m.recorder != nullptr) {
    c.outstanding = OutstandingProfile(*m.recorder, m.queries, m.start_ns, m.end_ns, 101);
    for (const OutstandingPoint& p : c.outstanding) {
      c.max_outstanding = std::max(c.max_outstanding, p.samples);
    }
  }
  ApplyRule(m, c);
  return c;
}

std::string ToJson(const GeneratorCheck& c) {
  std::string s = "{\"generator_limited\":";
  s += c.generator_limited ? "true" : "false";
  s += ",\"reasons\":[";
  for (size_t i = 0; i < c.reasons.size(); ++i) {
    if (i) s += ',';
    logging::AppendJsonQuoted(s, c.reasons[i]);
  }
  s += "],\"notes\":[";
  for (size_t i = 0; i < c.notes.size(); ++i) {
    if (i) s += ',';
    logging::AppendJsonQuoted(s, c.notes[i]);
  }
  s += "],\"cause\":";
  logging::AppendJsonQuoted(s, c.cause);
  auto num = [&s](const char* key, int64_t v) {
    s += ",\"";
    s += key;
    s += "\":";
    s += std::to_string(v);
  };
  auto real = [&s](const char* key, double v) {
    s += ",\"";
    s += key;
    s += "\":";
    AppendDouble(s, v);
  };
  num("timed_queries", static_cast<int64_t>(c.timed_queries));
  num("lateness_mean_ns", c.lateness_mean_ns);
  num("lateness_p50_ns", c.lateness_p50_ns);
  num("lateness_p90_ns", c.lateness_p90_ns);
  num("lateness_p99_ns", c.lateness_p99_ns);
  num("lateness_max_ns", c.lateness_max_ns);
  num("mean_interarrival_ns", c.mean_interarrival_ns);
  num("lateness_bound_ns", c.lateness_bound_ns);
  num("reissue_count", static_cast<int64_t>(c.reissue_count));
  num("reissue_mean_ns", c.reissue_mean_ns);
  num("reissue_max_ns", c.reissue_max_ns);
  real("series_duration_s", c.series_duration_s);
  num("issue_threads", static_cast<int64_t>(c.issue_threads));
  real("issue_cpu_share", c.issue_cpu_share);
  real("issue_callback_share", c.issue_callback_share);
  real("log_thread_cpu_share", c.log_thread_cpu_share);
  s += ",\"has_client\":";
  s += c.has_client ? "true" : "false";
  real("client_io_cpu_share", c.client_io_cpu_share);
  num("client_queries", static_cast<int64_t>(c.client_queries));
  num("connection_waits", static_cast<int64_t>(c.connection_waits));
  num("connection_wait_mean_ns", c.connection_wait_mean_ns);
  num("connection_wait_max_ns", c.connection_wait_max_ns);
  num("max_outstanding", static_cast<int64_t>(c.max_outstanding));
  s += ",\"outstanding\":[";
  for (size_t i = 0; i < c.outstanding.size(); ++i) {
    if (i) s += ',';
    s += '[';
    AppendDouble(s, c.outstanding[i].time_s);
    s += ',';
    s += std::to_string(c.outstanding[i].samples);
    s += ']';
  }
  s += "]}";
  return s;
}

}  // namespace loadgen::selfcheck
