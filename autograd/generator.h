#pragma once
/// @file generator.h
/// @brief `Generator`: the seeded source of every random number zoo draws.

#include <cstdint>
#include <random>
#include <string>

namespace zoo {

/// A seeded pseudo-random generator (64-bit Mersenne Twister).
///
/// Random factories (`rand`, `randn`, `randint`, dropout masks, shuffles) take one,
/// or use `default_generator()`. Numbers are always drawn in the same order, on one
/// thread, so a seed gives the same tensors whatever the thread count. The state can
/// be saved and restored exactly, which is what makes `--resume` bit-identical.
class Generator {
 public:
  /// A generator started from `seed`.
  explicit Generator(std::uint64_t seed = 0x5eed) { manual_seed(seed); }

  /// Restarts the sequence from `seed`.
  void manual_seed(std::uint64_t seed);
  /// The seed the current sequence started from.
  std::uint64_t initial_seed() const { return seed_; }

  /// A double uniformly distributed in [0, 1), built from the top 53 random bits.
  double uniform();
  /// A standard normal sample, by the Box–Muller transform:
  /// \f$ z = \sqrt{-2\ln u_1}\,\cos(2\pi u_2) \f$ with \f$u_1, u_2 \sim U(0,1)\f$.
  double normal();
  /// An integer uniformly distributed in [low, high).
  std::int64_t randint(std::int64_t low, std::int64_t high);
  /// 64 raw random bits.
  std::uint64_t next_u64() { return engine_(); }

  /// The full state as text, and back: `set_state(get_state())` changes nothing.
  std::string get_state() const;
  /// Restores a state returned by `get_state()`; throws `Error` on malformed text.
  void set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
  std::uint64_t seed_ = 0;
};

/// The generator used when none is given. Seed it with `manual_seed`.
Generator& default_generator();
/// Seeds the default generator, like `torch.manual_seed`.
void manual_seed(std::uint64_t seed);

}  // namespace zoo
