#include "nn/data/mnist.h"

#include "autograd/error.h"
#include "autograd/ops.h"
#include "nn/data/idx.h"

namespace zoo::nn {
namespace {

constexpr std::int64_t kSide = 28;
constexpr std::int64_t kClasses = 10;

/// `dir/name`, or `dir/name.gz`, whichever exists (the plain file first).
std::filesystem::path find_file(const std::filesystem::path& dir, const std::string& name) {
  for (const std::string& candidate : {name, name + ".gz"})
    if (std::filesystem::exists(dir / candidate)) return dir / candidate;
  throw Error(fmt::format(
      "{}: no {} (nor {}.gz). Fetch MNIST with `data/fetch_mnist.sh` (into data/mnist), or "
      "Fashion-MNIST with `data/fetch_mnist.sh --fashion` (into data/fashion-mnist), from the "
      "repository's top folder; or copy the four IDX files (plain or .gz) into {}",
      dir.string(), name, name, dir.string()));
}

}  // namespace

MnistData load_mnist(const std::filesystem::path& dir, bool train, std::int64_t expected_count) {
  const std::string prefix = train ? "train" : "t10k";
  const IdxFile images = read_idx(find_file(dir, prefix + "-images-idx3-ubyte"));
  const IdxFile labels = read_idx(find_file(dir, prefix + "-labels-idx1-ubyte"));

  MnistData data{idx_images_to_float(images), idx_labels(labels)};
  const std::int64_t n = data.images.size(0);
  ZOO_CHECK(images.shape[1] == kSide && images.shape[2] == kSide,
            "{}: MNIST images are {}x{}, these are {}x{}", images.path, kSide, kSide,
            images.shape[1], images.shape[2]);
  ZOO_CHECK(data.labels.size(0) == n, "{} has {} labels but {} has {} images", labels.path,
            data.labels.size(0), images.path, n);
  if (expected_count < 0) expected_count = train ? 60000 : 10000;
  ZOO_CHECK(expected_count == 0 || n == expected_count,
            "{}: expected {} images in the {} split, found {}", images.path, expected_count,
            train ? "training" : "test", n);
  const std::int64_t* label = data.labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    ZOO_CHECK(label[i] >= 0 && label[i] < kClasses, "{}: label {} of example {} is not in 0..9",
              labels.path, label[i], i);
  return data;
}

MnistData first_examples(MnistData data, std::int64_t limit) {
  if (limit > 0 && limit < data.images.size(0)) {
    data.images = data.images.narrow(0, 0, limit).contiguous();
    data.labels = data.labels.narrow(0, 0, limit).contiguous();
  }
  return data;
}

MnistData balanced_examples(const MnistData& data, std::int64_t per_class, Generator& gen) {
  ZOO_CHECK(per_class > 0, "balanced_examples: per_class must be positive, got {}", per_class);
  const std::vector<std::int64_t> labels = data.labels.to_vector<std::int64_t>();
  std::vector<std::vector<std::int64_t>> chosen(kClasses);
  for (const std::int64_t i : randperm(data.labels.size(0), gen).to_vector<std::int64_t>()) {
    auto& digit = chosen[static_cast<std::size_t>(labels[static_cast<std::size_t>(i)])];
    if (static_cast<std::int64_t>(digit.size()) < per_class) digit.push_back(i);
  }
  std::vector<std::int64_t> rows;
  for (std::int64_t c = 0; c < kClasses; ++c) {
    const auto& digit = chosen[static_cast<std::size_t>(c)];
    ZOO_CHECK(static_cast<std::int64_t>(digit.size()) == per_class,
              "balanced_examples: {} examples of digit {} asked for, the split has {}", per_class, c, digit.size());
    rows.insert(rows.end(), digit.begin(), digit.end());
  }
  const Tensor index = from_vector(rows, {static_cast<std::int64_t>(rows.size())});
  return {index_select(data.images, 0, index).contiguous(), index_select(data.labels, 0, index).contiguous()};
}

}  // namespace zoo::nn
