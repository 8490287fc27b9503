// Learning-rate schedules: values at given steps against their closed forms, the lr they
// set on the optimizer, state save/restore, and argument errors.
#include <cmath>
#include <numbers>

#include "nn/optim/optim.h"
#include "test_util.h"

using namespace zoo;
using namespace zoo::optim;
using Catch::Matchers::Contains;

namespace {

constexpr double kPi = std::numbers::pi;

/// An SGD optimizer over one dummy parameter, with lr 0.1: the base lr of every schedule.
struct Fixture {
  Tensor w = zeros({2}, kFloat64).requires_grad_();
  SGD opt{std::vector<Tensor>{w}, SGDOptions(0.1)};
};

/// Steps `sched` from its current step to `t_end`, REQUIREing at each step t that both
/// the scheduler and the optimizer hold `expected(t)`.
template <class F>
void require_schedule(LRScheduler& sched, const Optimizer& opt, std::int64_t t_end, F expected) {
  for (std::int64_t t = sched.last_step(); t <= t_end; ++t) {
    if (t > sched.last_step()) sched.step();
    INFO(sched.name() << " at step " << t << ": got " << sched.get_last_lr() << ", expected "
                      << expected(t));
    REQUIRE(sched.last_step() == t);
    REQUIRE(std::fabs(sched.get_last_lr() - expected(t)) <= 1e-15 + 1e-12 * std::fabs(expected(t)));
    REQUIRE(opt.lr() == sched.get_last_lr());
    REQUIRE(sched.lr_at(t) == sched.get_last_lr());
  }
}

}  // namespace

TEST_CASE("StepLR multiplies by gamma every step_size steps", "[lr_scheduler]") {
  Fixture f;
  StepLR sched(f.opt, /*step_size=*/3, /*gamma=*/0.5);
  // η(t) = η₀ γ^⌊t/3⌋
  require_schedule(sched, f.opt, 10, [](std::int64_t t) { return 0.1 * std::pow(0.5, t / 3); });
  REQUIRE(sched.lr_at(2) == 0.1);
  REQUIRE(sched.lr_at(3) == 0.05);
  REQUIRE(sched.lr_at(9) == 0.1 * 0.125);
}

TEST_CASE("CosineAnnealingLR follows half a cosine to eta_min", "[lr_scheduler]") {
  Fixture f;
  CosineAnnealingLR sched(f.opt, /*T_max=*/10, /*eta_min=*/0.001);
  // η(t) = η_min + ½(η₀ − η_min)(1 + cos(πt/T)), unclamped past T as in PyTorch.
  require_schedule(sched, f.opt, 14, [](std::int64_t t) {
    return 0.001 + 0.5 * (0.1 - 0.001) * (1 + std::cos(kPi * static_cast<double>(t) / 10));
  });
  REQUIRE(sched.lr_at(0) == 0.1);
  REQUIRE(std::fabs(sched.lr_at(5) - 0.0505) < 1e-15);
  REQUIRE(std::fabs(sched.lr_at(10) - 0.001) < 1e-15);
  REQUIRE(sched.lr_at(12) > sched.lr_at(10));  // past T_max it rises again
}

TEST_CASE("LinearWarmup ramps linearly, then holds the base lr", "[lr_scheduler]") {
  SECTION("from zero") {
    Fixture f;
    LinearWarmup sched(f.opt, /*warmup_steps=*/4);
    require_schedule(sched, f.opt, 7, [](std::int64_t t) {
      return 0.1 * static_cast<double>(std::min<std::int64_t>(t, 4)) / 4;
    });
    REQUIRE(sched.lr_at(0) == 0.0);
    REQUIRE(std::fabs(sched.lr_at(2) - 0.05) < 1e-17);
    REQUIRE(sched.lr_at(4) == 0.1);
  }
  SECTION("from a start factor") {
    Fixture f;
    LinearWarmup sched(f.opt, /*warmup_steps=*/5, /*start_factor=*/0.2);
    // η(t) = η₀ (s + (1 − s) min(t, W)/W)
    require_schedule(sched, f.opt, 8, [](std::int64_t t) {
      return 0.1 * (0.2 + 0.8 * static_cast<double>(std::min<std::int64_t>(t, 5)) / 5);
    });
    REQUIRE(std::fabs(sched.lr_at(0) - 0.02) < 1e-17);
  }
}

TEST_CASE("WarmupCosine: linear warmup, cosine decay, then eta_min", "[lr_scheduler]") {
  Fixture f;
  WarmupCosine sched(f.opt, /*warmup_steps=*/5, /*total_steps=*/15, /*eta_min=*/0.01);
  require_schedule(sched, f.opt, 20, [](std::int64_t t) {
    const double td = static_cast<double>(t);
    if (t < 5) return 0.1 * td / 5;
    if (t > 15) return 0.01;
    return 0.01 + 0.5 * (0.1 - 0.01) * (1 + std::cos(kPi * (td - 5) / 10));
  });
  REQUIRE(sched.lr_at(0) == 0.0);
  REQUIRE(std::fabs(sched.lr_at(5) - 0.1) < 1e-16);  // the peak, where warmup ends
  REQUIRE(std::fabs(sched.lr_at(10) - 0.055) < 1e-15);
  REQUIRE(std::fabs(sched.lr_at(15) - 0.01) < 1e-15);
  REQUIRE(sched.lr_at(30) == 0.01);
}

TEST_CASE("OneCycleLR: PyTorch's two cosine phases", "[lr_scheduler]") {
  Fixture f;
  const double max_lr = 1.0, initial = max_lr / 25, final_lr = initial / 1e4;
  OneCycleLR sched(f.opt, max_lr, /*total_steps=*/100);  // pct_start 0.3: peak at P = 29
  auto cos_anneal = [](double a, double b, double x) {
    return b + 0.5 * (a - b) * (1 + std::cos(kPi * x));
  };
  require_schedule(sched, f.opt, 100, [&](std::int64_t t) {
    const double td = static_cast<double>(t);
    return t <= 29 ? cos_anneal(initial, max_lr, td / 29)
                   : cos_anneal(max_lr, final_lr, (td - 29) / (99 - 29));
  });
  REQUIRE(std::fabs(sched.lr_at(0) - 0.04) < 1e-16);
  REQUIRE(sched.lr_at(29) == max_lr);
  REQUIRE(std::fabs(sched.lr_at(99) - 4e-6) < 1e-18);
  REQUIRE(sched.lr_at(64) < max_lr);
  // Step 100 is allowed (PyTorch too); 101 is past the end.
  REQUIRE_THROWS_WITH(sched.step(), Contains("OneCycleLR") && Contains("past total_steps = 100"));
}

TEST_CASE("OneCycleLR with another pct_start and divisors", "[lr_scheduler]") {
  Fixture f;
  OneCycleLR sched(f.opt, /*max_lr=*/0.5, /*total_steps=*/40, /*pct_start=*/0.25,
                   /*div_factor=*/10, /*final_div_factor=*/100);
  // P = 0.25·40 − 1 = 9: η(0) = 0.05, η(9) = 0.5, η(39) = 0.05/100.
  REQUIRE(std::fabs(sched.get_last_lr() - 0.05) < 1e-16);
  REQUIRE(sched.lr_at(9) == 0.5);
  REQUIRE(std::fabs(sched.lr_at(39) - 5e-4) < 1e-16);
  const double x = (20.0 - 9.0) / (39.0 - 9.0);
  REQUIRE(std::fabs(sched.lr_at(20) - (5e-4 + 0.5 * (0.5 - 5e-4) * (1 + std::cos(kPi * x)))) <
          1e-15);
}

TEST_CASE("a scheduler's state restores the schedule exactly", "[lr_scheduler]") {
  Fixture a;
  WarmupCosine sa(a.opt, 3, 20, 0.001);
  for (int i = 0; i < 7; ++i) sa.step();
  const nn::StateDict saved = sa.state_dict();
  REQUIRE(saved.at("last_step").item() == 7);
  REQUIRE(saved.at("last_step").dtype() == kInt64);
  REQUIRE(saved.at("base_lr").item() == 0.1);

  // A resumed run: the optimizer's state comes back first (lr = η(7)), so a scheduler
  // made now would take η(7) as its base; loading restores the real base, 0.1.
  Fixture b;
  b.opt.load_state_dict(a.opt.state_dict());
  WarmupCosine sb(b.opt, 3, 20, 0.001);
  REQUIRE(sb.base_lr() != 0.1);
  sb.load_state_dict(saved);
  REQUIRE(sb.base_lr() == 0.1);
  REQUIRE(sb.last_step() == 7);
  REQUIRE(b.opt.lr() == a.opt.lr());
  for (int i = 0; i < 5; ++i) {
    sa.step();
    sb.step();
    REQUIRE(sb.get_last_lr() == sa.get_last_lr());
    REQUIRE(b.opt.lr() == a.opt.lr());
  }

  nn::StateDict partial;
  partial.insert("last_step", scalar_tensor(3, kInt64));
  REQUIRE_THROWS_WITH(sb.load_state_dict(partial),
                      Contains("WarmupCosine.load_state_dict: missing key 'base_lr'"));
  REQUIRE(sb.last_step() == 12);
}

TEST_CASE("a schedule drives both of Muon's learning rates", "[lr_scheduler]") {
  Tensor w = zeros({2, 2}, kFloat64).requires_grad_(), b = zeros({2}, kFloat64).requires_grad_();
  Muon opt({w, b}, MuonOptions(0.02).adamw(AdamWOptions(1e-3)));
  StepLR sched(opt, 1, 0.5);
  sched.step();
  REQUIRE(opt.lr() == 0.01);
  REQUIRE(std::fabs(opt.adamw_lr() - 5e-4) < 1e-18);
}

TEST_CASE("schedules reject bad arguments, naming them", "[lr_scheduler]") {
  Fixture f;
  REQUIRE_THROWS_WITH(StepLR(f.opt, 0), Contains("StepLR: step_size must be > 0, got 0"));
  REQUIRE_THROWS_WITH(CosineAnnealingLR(f.opt, -5), Contains("CosineAnnealingLR: T_max"));
  REQUIRE_THROWS_WITH(LinearWarmup(f.opt, 0), Contains("LinearWarmup: warmup_steps"));
  REQUIRE_THROWS_WITH(WarmupCosine(f.opt, 10, 10),
                      Contains("WarmupCosine: need 0 <= warmup_steps < total_steps"));
  REQUIRE_THROWS_WITH(OneCycleLR(f.opt, 1.0, 2, 0.3),
                      Contains("OneCycleLR: pct_start 0.3 with total_steps 2"));
  REQUIRE_THROWS_WITH(OneCycleLR(f.opt, -1.0, 100), Contains("OneCycleLR: max_lr"));
  // A failed constructor leaves the optimizer's lr alone.
  REQUIRE(f.opt.lr() == 0.1);
}
