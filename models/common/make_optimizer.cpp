#include "models/common/make_optimizer.h"

#include "nn/optim/optim.h"

namespace zoo::models {

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name,
                                                 optim::NamedParameters params, double lr) {
  if (name == "adam") return std::make_unique<optim::Adam>(std::move(params), optim::AdamOptions(lr));
  if (name == "adamw")
    return std::make_unique<optim::AdamW>(std::move(params), optim::AdamWOptions(lr));
  if (name == "sgd")
    return std::make_unique<optim::SGD>(std::move(params),
                                        optim::SGDOptions(lr).momentum(0.9).nesterov(true));
  if (name == "muon") return std::make_unique<optim::Muon>(std::move(params), optim::MuonOptions(lr));
  throw Error(fmt::format("unknown optimizer '{}' (expected adam, adamw, sgd or muon)", name));
}

}  // namespace zoo::models
