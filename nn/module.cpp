#include "nn/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <typeinfo>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace zoo::nn {

// ---------------------------------------------------------------------------
// forward
// ---------------------------------------------------------------------------

Tensor Module::forward(const Tensor& x) {
  throw Error(fmt::format(
      "{}: forward(Tensor) is not implemented (called with shape {}); this module either "
      "takes other inputs (call its own forward) or must override forward",
      name(), x.defined() ? fmt::format("{}", x.shape()) : std::string("undefined")));
}

// ---------------------------------------------------------------------------
// registration
// ---------------------------------------------------------------------------

void Module::check_new_name(const std::string& name, const char* what) const {
  ZOO_CHECK(!name.empty(), "{}: {} name must not be empty", this->name(), what);
  ZOO_CHECK(name.find('.') == std::string::npos,
            "{}: {} name '{}' must not contain a dot (dots separate the levels of a dotted name)",
            this->name(), what, name);
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& item) {
      if constexpr (std::is_same_v<std::decay_t<decltype(item)>, Buffer>)
        return item.name == name;
      else
        return item.first == name;
    });
  };
  ZOO_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_),
            "{}: cannot register {} '{}': the name is already taken", this->name(), what, name);
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor) {
  check_new_name(name, "parameter");
  ZOO_CHECK(tensor.defined(), "{}: register_parameter('{}'): the tensor is undefined",
            this->name(), name);
  ZOO_CHECK(tensor.is_floating_point(),
            "{}: register_parameter('{}'): parameters must be floating, got {} of shape {}",
            this->name(), name, tensor.dtype(), tensor.shape());
  ZOO_CHECK(tensor.is_leaf(),
            "{}: register_parameter('{}'): the tensor (shape {}) was produced by the op '{}'; "
            "a parameter must be a leaf (register tensor.detach())",
            this->name(), name, tensor.shape(), tensor.grad_fn() ? tensor.grad_fn()->name() : "");
  tensor.requires_grad_(true);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor, bool persistent) {
  check_new_name(name, "buffer");
  ZOO_CHECK(tensor.defined(), "{}: register_buffer('{}'): the tensor is undefined", this->name(),
            name);
  buffers_.push_back({name, tensor, persistent});
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "submodule");
  ZOO_CHECK(module != nullptr, "{}: register_module('{}'): the module is null", this->name(),
            name);
  ZOO_CHECK(module.get() != this, "{}: register_module('{}'): a module cannot contain itself",
            this->name(), name);
  children_.emplace_back(name, std::move(module));
}

// ---------------------------------------------------------------------------
// what the module holds
// ---------------------------------------------------------------------------

namespace {

/// "prefix.name", or "name" at the top.
std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

void Module::collect_parameters(const std::string& prefix, bool recurse, NamedTensors& out,
                                std::vector<const TensorImpl*>& seen) const {
  for (const auto& [name, tensor] : parameters_) {
    if (std::find(seen.begin(), seen.end(), tensor.impl()) != seen.end()) continue;
    seen.push_back(tensor.impl());
    out.emplace_back(join(prefix, name), tensor);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_)
    child->collect_parameters(join(prefix, name), true, out, seen);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect_parameters("", recurse, out, seen);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters(recurse)) out.push_back(tensor);
  return out;
}

void Module::collect_buffers(const std::string& prefix, bool recurse, NamedTensors& out) const {
  for (const auto& b : buffers_) out.emplace_back(join(prefix, b.name), b.tensor);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect_buffers(join(prefix, name), true, out);
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect_buffers("", recurse, out);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_buffers(recurse)) out.push_back(tensor);
  return out;
}

NamedModules Module::named_children() const { return children_; }

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

void Module::collect_modules(const std::string& prefix,
                             std::vector<std::pair<std::string, Module*>>& out) {
  for (const auto& entry : out)
    if (entry.second == this) return;  // reachable twice: listed once, under its first name
  out.emplace_back(prefix, this);
  for (const auto& [name, child] : children_) child->collect_modules(join(prefix, name), out);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  collect_modules("", out);
  return out;
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

// ---------------------------------------------------------------------------
// modes, gradients, dtype
// ---------------------------------------------------------------------------

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.set_grad(Tensor());
}

namespace {

/// Makes `t`'s impl hold a `dtype` copy of its data: every handle to the impl sees the
/// converted tensor (what PyTorch does with `param.data = param.data.to(dtype)`).
void convert_in_place(const Tensor& t, DType dtype) {
  if (!t.is_floating_point() || t.dtype() == dtype) return;
  Tensor converted = t.detach().to(dtype).contiguous();
  TensorImpl* impl = t.impl();
  impl->storage = converted.impl()->storage;
  impl->shape = converted.shape();
  impl->strides = converted.strides();
  impl->offset = converted.offset();
  impl->dtype = dtype;
  impl->grad.reset();
}

}  // namespace

Module& Module::to(DType dtype) {
  ZOO_CHECK(is_floating(dtype), "{}: to({}): parameters can only be converted to a floating dtype",
            name(), dtype);
  NoGradGuard no_grad;
  for (const Tensor& p : parameters()) convert_in_place(p, dtype);
  for (const Tensor& b : buffers()) convert_in_place(b, dtype);
  return *this;
}

// ---------------------------------------------------------------------------
// state_dict / load_state_dict
// ---------------------------------------------------------------------------

void Module::collect_state(const std::string& prefix, StateDict& out) const {
  for (const auto& [name, tensor] : parameters_) out.insert(join(prefix, name), tensor.detach());
  for (const auto& b : buffers_)
    if (b.persistent) out.insert(join(prefix, b.name), b.tensor.detach());
  for (const auto& [name, child] : children_) child->collect_state(join(prefix, name), out);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state("", out);
  return out;
}

namespace {

/// "'a', 'b', 'c'"
std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

}  // namespace

LoadStateDictResult Module::load_state_dict(const StateDict& source, bool strict) {
  // The model's own state, through the same traversal as state_dict(): its tensors are
  // detached handles to the parameters' storage, so copying into them updates the model.
  const StateDict target = state_dict();
  LoadStateDictResult result;
  // 1. Check everything before copying anything: a failed load leaves the model as it was.
  for (const auto& [key, dst] : target) {
    const Tensor src = source.find(key);
    if (!src.defined()) {
      result.missing_keys.push_back(key);
      continue;
    }
    ZOO_CHECK(src.shape() == dst.shape(),
              "{}.load_state_dict: size mismatch for '{}': copying a tensor of shape {} from the "
              "state dict, the shape in the current model is {}",
              name(), key, src.shape(), dst.shape());
    ZOO_CHECK(src.dtype() == dst.dtype(),
              "{}.load_state_dict: dtype mismatch for '{}': the state dict holds {}, the current "
              "model has {} (convert the model with Module::to, or the tensors)",
              name(), key, src.dtype(), dst.dtype());
  }
  for (const auto& [key, src] : source)
    if (!target.contains(key)) result.unexpected_keys.push_back(key);
  if (strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty())) {
    std::string message = fmt::format("{}.load_state_dict (strict):", name());
    if (!result.missing_keys.empty())
      message += fmt::format(" missing key(s) in the state dict: {}.", quoted_list(result.missing_keys));
    if (!result.unexpected_keys.empty())
      message += fmt::format(" unexpected key(s) in the state dict: {}.",
                             quoted_list(result.unexpected_keys));
    message += " (load with strict = false to skip them)";
    throw Error(message);
  }
  // 2. Copy, in place and unrecorded.
  NoGradGuard no_grad;
  for (const auto& [key, dst] : target) {
    const Tensor src = source.find(key);
    if (src.defined()) Tensor(dst).copy_(src);
  }
  return result;
}

// ---------------------------------------------------------------------------
// printing
// ---------------------------------------------------------------------------

std::string Module::name() const {
  // typeid gives a mangled name ("N3zoo2nn6LinearE"); demangle it, then drop the
  // namespaces ("zoo::nn::Linear" -> "Linear"), keeping any template arguments.
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string full = (status == 0 && demangled) ? demangled : mangled;
  std::free(demangled);
  const auto template_start = full.find('<');
  const auto last_colon = full.rfind("::", template_start);
  return last_colon == std::string::npos ? full : full.substr(last_colon + 2);
}

namespace {

/// Indents every line but the first by `spaces` (PyTorch's `_addindent`).
std::string add_indent(const std::string& text, int spaces) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out.append(spaces, ' ');
  }
  return out;
}

}  // namespace

std::string to_string(const Module& module) {
  // Follows torch.nn.Module.__repr__: the extra_repr lines, then "(name): child" lines.
  std::vector<std::string> lines;
  const std::string extra = module.extra_repr();
  std::istringstream extra_stream(extra);
  for (std::string line; std::getline(extra_stream, line);) lines.push_back(line);
  const std::size_t n_extra = lines.size();
  for (const auto& [name, child] : module.named_children())
    lines.push_back("(" + name + "): " + add_indent(to_string(*child), 2));

  std::string out = module.name() + "(";
  if (n_extra == 1 && lines.size() == 1) {
    out += lines[0];
  } else if (!lines.empty()) {
    out += "\n";
    for (const auto& line : lines) out += "  " + line + "\n";
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& out, const Module& module) {
  return out << to_string(module);
}

}  // namespace zoo::nn
