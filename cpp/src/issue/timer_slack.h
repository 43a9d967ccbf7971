// issue stage: asks Linux for precise timer wake-ups while a thread issues on a schedule.
#ifndef LOADGEN_ISSUE_TIMER_SLACK_H_
#define LOADGEN_ISSUE_TIMER_SLACK_H_

#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace loadgen::issue {

// Linux delays timer wake-ups by up to the thread's timer slack (50 µs by default) to batch
// them. The Server issuer sleeps until a query's moment, so for the series it asks for none.
class ScopedTimerSlack {
 public:
  explicit ScopedTimerSlack(bool enable) {
#if defined(__linux__)
    if (!enable) return;
    const int previous = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (previous > 0 && ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) == 0) previous_ = previous;
#else
    (void)enable;
#endif
  }
  ~ScopedTimerSlack() {
#if defined(__linux__)
    if (previous_ > 0) ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(previous_), 0, 0, 0);
#endif
  }
  ScopedTimerSlack(const ScopedTimerSlack&) = delete;
  ScopedTimerSlack& operator=(const ScopedTimerSlack&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace loadgen::issue

#endif  // LOADGEN_ISSUE_TIMER_SLACK_H_
