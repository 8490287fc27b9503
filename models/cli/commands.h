#pragma once
/// @file commands.h
/// @brief How each model adds its subcommands to `zoo train`, `zoo eval`, `zoo sample`.

#include <CLI/CLI.hpp>

namespace zoo::cli {

/// The top-level verbs; each model adds a subcommand under those it supports.
struct Verbs {
  CLI::App* train;
  CLI::App* eval;
};

/// `zoo train mlp|cnn`, `zoo eval mlp|cnn`.
void add_classifier_commands(const Verbs& verbs);

}  // namespace zoo::cli
