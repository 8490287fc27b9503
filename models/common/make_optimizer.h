#pragma once
/// @file make_optimizer.h
/// @brief Choosing an optimizer by name, as the command line's `--optimizer` does.

#include <memory>
#include <string>

#include "nn/optim/optimizer.h"

namespace zoo::models {

/// "adam", "adamw" (weight decay 0.01), "sgd" (momentum 0.9, Nesterov) or "muon"
/// (Newton–Schulz-orthogonalised momentum on 2-D weights, AdamW for the rest) over the
/// named parameters, with learning rate `lr`. Any other name is an error listing these.
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name,
                                                 optim::NamedParameters params, double lr);

}  // namespace zoo::models
