// LibTorch peer for the training benchmarks W6 (MLP, SGD), W7 (CNN, Adam) and W11 (small ResNet,
// Adam) on Fashion-MNIST, with the same definitions as bench/bench_train.cpp
// (bench/common/train_util.hpp).
//
//   libtorch_train W6|W7|W11  prints one JSON object on stdout
//
// One workload per process, so that rss_MiB (peak RSS, getrusage) is per workload.
// Threads: torch::set_num_threads(BENCH_TRAIN_THREADS, default 2). Run it under
// OMP_WAIT_POLICY=passive and with the default policy (scripts/bench_train.sh does both).
#include <torch/torch.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "../common/train_util.hpp"

namespace {

using namespace bench::train;

void glorot(torch::nn::Module& m) {
  torch::NoGradGuard guard;
  for (auto& p : m.named_parameters()) {
    if (p.key().find("weight") != std::string::npos)
      torch::nn::init::xavier_uniform_(p.value());
    else
      torch::nn::init::zeros_(p.value());
  }
}

struct MlpImpl : torch::nn::Module {
  torch::nn::Linear l1{nullptr}, l2{nullptr}, l3{nullptr};
  MlpImpl() {
    l1 = register_module("l1", torch::nn::Linear(784, 256));
    l2 = register_module("l2", torch::nn::Linear(256, 128));
    l3 = register_module("l3", torch::nn::Linear(128, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(l1->forward(x));
    h = torch::relu(l2->forward(h));
    return l3->forward(h);
  }
};
TORCH_MODULE(Mlp);

struct CnnImpl : torch::nn::Module {
  torch::nn::Conv2d c1{nullptr}, c2{nullptr};
  torch::nn::Linear d1{nullptr}, d2{nullptr};
  CnnImpl() {
    // 3x3, stride 1, padding 1 == TF "SAME".
    c1 = register_module("c1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)));
    c2 = register_module("c2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)));
    d1 = register_module("d1", torch::nn::Linear(64 * 7 * 7, 128));
    d2 = register_module("d2", torch::nn::Linear(128, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) {  // x [b, 1, 28, 28]
    auto h = torch::max_pool2d(torch::relu(c1->forward(x)), 2, 2);
    h = torch::max_pool2d(torch::relu(c2->forward(h)), 2, 2);
    h = h.flatten(1);
    h = torch::relu(d1->forward(h));
    return d2->forward(h);
  }
};
TORCH_MODULE(Cnn);

// W11: examples/common/resnet.hpp in LibTorch's terms (NCHW). Keras' "same" padding of a 3x3
// convolution with stride 2 on an even size pads only after; padding 1 here gives the same output
// sizes (28 -> 14 -> 7) and the same arithmetic cost.
torch::nn::Conv2d resnet_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}
torch::nn::BatchNorm2d resnet_bn(int64_t c) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(c).eps(1e-3).momentum(0.1));
}

struct BlockImpl : torch::nn::Module {
  torch::nn::Conv2d c1{nullptr}, c2{nullptr}, pc{nullptr};
  torch::nn::BatchNorm2d b1{nullptr}, b2{nullptr}, pb{nullptr};
  BlockImpl(int64_t in, int64_t out, int64_t stride) {
    c1 = register_module("c1", resnet_conv(in, out, 3, stride));
    b1 = register_module("b1", resnet_bn(out));
    c2 = register_module("c2", resnet_conv(out, out, 3, 1));
    b2 = register_module("b2", resnet_bn(out));
    if (stride != 1 || in != out) {
      pc = register_module("pc", resnet_conv(in, out, 1, stride));
      pb = register_module("pb", resnet_bn(out));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(b1->forward(c1->forward(x)));
    y = b2->forward(c2->forward(y));
    auto shortcut = pc ? pb->forward(pc->forward(x)) : x;
    return torch::relu(shortcut + y);
  }
};
TORCH_MODULE(Block);

struct ResNetImpl : torch::nn::Module {
  torch::nn::Conv2d stem{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  torch::nn::Sequential blocks;
  torch::nn::Linear logits{nullptr};
  ResNetImpl(int64_t w, int64_t first_stride) {
    stem = register_module("stem", resnet_conv(1, w, 3, 1));
    stem_bn = register_module("stem_bn", resnet_bn(w));
    blocks->push_back(Block(w, w, first_stride));
    blocks->push_back(Block(w, 2 * w, 2));
    blocks->push_back(Block(2 * w, 4 * w, 2));
    register_module("blocks", blocks);
    logits = register_module("logits", torch::nn::Linear(4 * w, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) {  // x [b, 1, 28, 28]
    auto y = torch::relu(stem_bn->forward(stem->forward(x)));
    y = blocks->forward(y);
    return logits->forward(y.mean({2, 3}));
  }
};
TORCH_MODULE(ResNet);

// Glorot-uniform convolution and dense kernels, zero biases (as tapeflow's Conv2D and Dense);
// BatchNorm keeps its ones / zeros.
void glorot_resnet(torch::nn::Module& m) {
  torch::NoGradGuard guard;
  for (auto& p : m.named_parameters()) {
    if (p.value().dim() >= 2)
      torch::nn::init::xavier_uniform_(p.value());
    else if (p.key().find("logits.bias") != std::string::npos)
      torch::nn::init::zeros_(p.value());
  }
}

// W7/W11: Adam (epsilon 1e-7, as Keras) on the images x [kTrainN, 784] viewed as
// [kTrainN, 1, 28, 28], batches in fixed order; best_window_images_per_s's timing. Returns the
// best images/s; `final_loss` is the last batch's loss.
template <class Model>
double train_adam(Model& model,
                  const torch::Tensor& x_all,
                  const torch::Tensor& y_all,
                  float lr,
                  long batch,
                  long warmup,
                  long steps,
                  int reps,
                  std::vector<double>& windows,
                  double& final_loss) {
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(lr).eps(1e-7));
  const auto x_img = x_all.view({kTrainN, 1, 28, 28});
  const long nbatches = kTrainN / batch;
  long step = 0;
  torch::Tensor loss;
  auto run = [&](long n) {
    for (long s = 0; s < n; ++s, ++step) {
      const long i = (step % nbatches) * batch;
      opt.zero_grad();
      loss = torch::nn::functional::cross_entropy(model.forward(x_img.narrow(0, i, batch)),
                                                  y_all.narrow(0, i, batch));
      loss.backward();
      opt.step();
    }
  };
  const double best = best_window_images_per_s(run, warmup, steps, reps, batch, windows);
  final_loss = loss.item<float>();
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "";
  if (which != "W6" && which != "W7" && which != "W11") {
    std::cerr << "usage: libtorch_train W6|W7|W11\n";
    return 2;
  }
  int threads = 2;
  if (const char* t = std::getenv("BENCH_TRAIN_THREADS"); t && std::atoi(t) > 0)
    threads = std::atoi(t);
  torch::set_num_threads(threads);
  torch::manual_seed(42);

  Result res;
  res.library = "libtorch";
  res.workload = which;
  res.threads = torch::get_num_threads();

  // ---- preload (not timed): uint8 bytes -> float32 [60000, 784] in [0, 1] ----
  torch::Tensor x_all, y_all;
  {
    FashionBytes d = load_fashion_train_bytes();
    x_all = torch::from_blob(d.x.data(), {kTrainN, kPixels}, torch::kUInt8).to(torch::kFloat32);
    x_all.div_(255.f);
    y_all = torch::from_blob(d.y.data(), {kTrainN}, torch::kInt32).to(torch::kInt64);
  }
  res.rss_data = proc_status_mib("VmRSS");
  const double load_peak = peak_rss_mib();
  const bool reset = reset_peak_rss();

  if (which == "W6") {
    Mlp model;
    glorot(*model);
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(kW6Lr));
    torch::Tensor loss;
    auto epoch = [&] {
      for (long i = 0; i < kTrainN; i += kW6Batch) {
        const long b = std::min(kW6Batch, kTrainN - i);
        auto xb = x_all.narrow(0, i, b);
        auto yb = y_all.narrow(0, i, b);
        opt.zero_grad();
        loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
        loss.backward();
        opt.step();
      }
    };
    epoch();  // warm-up
    res.w6_s = INFINITY;
    for (int e = 0; e < kW6Epochs; ++e) {
      const auto t0 = clock::now();
      epoch();
      const double s = seconds_since(t0);
      res.w6_epochs.push_back(s);
      res.w6_s = std::min(res.w6_s, s);
    }
    res.w6_final_loss = loss.item<float>();
  } else if (which == "W7") {
    Cnn model;
    glorot(*model);
    res.w7_ips = train_adam(*model,
                            x_all,
                            y_all,
                            kW7Lr,
                            kW7Batch,
                            kW7Warmup,
                            kW7Steps,
                            kW7Reps,
                            res.w7_windows,
                            res.w7_final_loss);
  } else {  // W11
    ResNet model(kW11Width, kW11FirstStride);
    glorot_resnet(*model);
    model->train();
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    res.note = "parameters " + std::to_string(params);
    res.w11_ips = train_adam(*model,
                             x_all,
                             y_all,
                             kW11Lr,
                             kW11Batch,
                             kW11Warmup,
                             kW11Steps,
                             kW11Reps,
                             res.w11_windows,
                             res.w11_final_loss);
  }
  res.rss_train = reset ? proc_status_mib("VmHWM") : NAN;
  res.rss = std::max(load_peak, peak_rss_mib());
  std::cout << res.json() << std::endl;
  return 0;
}
