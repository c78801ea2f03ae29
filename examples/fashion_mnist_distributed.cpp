// Fashion-MNIST trained data-parallel on several processes (docs/distributed.md):
//   mpirun -np 2 ./fashion_mnist_distributed --model mlp --epochs 5
// Each replica reads its shard of every global batch (--batch_size per replica), gradients are
// averaged across replicas while the backward walk runs, and only the chief prints, writes
// summaries and saves checkpoints. A plain ./fashion_mnist_distributed is one replica.
// --fit trains the same way with tf::Model::fit, the model compiled under the strategy.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <tapeflow/tapeflow.hpp>

#include "common/fashion_mnist.hpp"
#include "common/models.hpp"

namespace tf = tapeflow;

int main(int argc, char** argv) {
  example::relaunch_with_fast_blas(argv);
  CLI::App app{"Train on Fashion-MNIST with one replica per process (mpirun -np N)"};
  example::Flags flags{.epochs = 5, .batch_size = 64, .learning_rate = 1e-3, .threads = 1};
  std::string arch = "mlp";
  app.add_option("--model", arch, "mlp or cnn")->capture_default_str();
  int64_t crash_at_step = 0;
  app.add_option(
      "--crash_at_step",
      crash_at_step,
      "recovery drill: the last replica dies (exit without cleanup) at this step of this "
      "run; relaunch with the same --ckpt_dir to resume");
  bool use_fit = false;
  app.add_flag("--fit",
               use_fit,
               "train with Model::fit, compiled with .distribute = strategy (--batch_size per "
               "replica; --crash_at_step is ignored)");
  example::add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  example::apply(flags);

  tf::distribute::MultiWorkerMirroredStrategy strategy;
  const int replicas = strategy.num_replicas_in_sync();
  const bool chief = strategy.is_chief();
  auto [train, test] = example::load(example::input_shape(arch), flags.limit);
  if (use_fit) {
    // The Keras path: fit splits each global batch of replicas x --batch_size rows across the
    // replicas, broadcasts the chief's weights, and only the chief prints and writes files.
    tf::Model model(example::make_model(arch, flags.seed));
    model.compile({.optimizer = tf::optimizers::Adam({.learning_rate = flags.learning_rate}),
                   .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
                   .metrics = {"accuracy"},
                   .distribute = strategy});
    if (chief)
      std::printf("%d replicas x batch %lld = global batch %lld (Model::fit)\n",
                  replicas,
                  (long long)flags.batch_size,
                  (long long)(replicas * flags.batch_size));
    const double acc = example::fit_model(model,
                                          train,
                                          test,
                                          flags.epochs,
                                          flags.batch_size,
                                          flags.seed,
                                          flags.logdir,
                                          flags.ckpt_dir);
    if (chief) std::printf("test accuracy: %.4f\n", acc);
    return acc >= flags.min_accuracy ? 0 : 1;
  }
  const int64_t n = train.x.shape()[0];
  // Shard before shuffling: every replica shuffles its own disjoint part with the same seed.
  // drop_remainder: every replica runs the same number of steps (collectives stay in step).
  auto ds = tf::data::Dataset::from_tensor_slices({train.x, train.y})
                .shard(replicas, strategy.worker_index())
                .shuffle(n, flags.seed)
                .batch(flags.batch_size, /*drop_remainder=*/true)
                .prefetch(2);

  tf::layers::Sequential model = example::make_model(arch, flags.seed);
  tf::Shape one = train.x.shape();
  one[0] = 1;
  model.build(one, train.x.dtype());
  tf::optimizers::Adam opt({.learning_rate = flags.learning_rate});
  tf::Variable done_epochs(tf::constant(int64_t(0)), {.name = "epoch", .trainable = false});
  std::optional<tf::train::CheckpointManager> manager;
  if (!flags.ckpt_dir.empty()) {  // every replica restores the same (shared) checkpoint
    tf::train::Checkpoint ckpt({{"epoch", done_epochs}}, {{"model", model}, {"optimizer", opt}});
    manager.emplace(ckpt, flags.ckpt_dir, tf::train::CheckpointManagerOptions{.max_to_keep = 3});
    std::string restored = manager->restore_or_initialize();
    if (chief && !restored.empty()) std::printf("Restored %s\n", restored.c_str());
  }
  std::vector<tf::Variable> vars = model.trainable_variables();
  strategy.broadcast_variables(vars, opt);
  strategy.broadcast_variables({done_epochs});
  tf::summary::SummaryWriter writer;
  if (chief && !flags.logdir.empty()) writer = tf::summary::create_file_writer(flags.logdir);
  if (chief)
    std::printf("%d replicas x batch %lld = global batch %lld\n",
                replicas,
                (long long)flags.batch_size,
                (long long)(replicas * flags.batch_size));

  tf::losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  double test_acc = 0;
  int64_t total_steps = 0;
  for (int epoch = int(done_epochs.peek().item<int64_t>()) + 1; epoch <= flags.epochs; ++epoch) {
    tf::metrics::Mean mean_loss;
    auto start = std::chrono::steady_clock::now();
    int64_t steps = 0;
    for (const auto& b : ds) {
      if (++total_steps == crash_at_step && strategy.worker_index() == replicas - 1) {
        std::fprintf(stderr,
                     "replica %d: dying at step %lld (--crash_at_step)\n",
                     replicas - 1,
                     (long long)total_steps);
        std::_Exit(3);
      }
      tf::GradientTape tape;
      tf::Tensor loss = loss_fn(b[1], model(b[0], /*training=*/true));
      opt.apply_gradients(strategy.gradient(tape, loss, vars), vars);
      mean_loss.update_state(loss);
      ++steps;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The epoch's loss over all replicas; test accuracy is the same everywhere (same weights).
    const double loss =
        strategy.all_reduce(mean_loss.result(), tf::distribute::ReduceOp::MEAN).item<double>();
    test_acc = example::evaluate(model, test);
    if (chief) {
      std::printf(
          "Epoch %d/%d - %lld steps - %.1fs - %.0f images/s - loss: %.4f - test_accuracy: %.4f\n",
          epoch,
          flags.epochs,
          (long long)steps,
          secs,
          double(steps * flags.batch_size * replicas) / secs,
          loss,
          test_acc);
      std::fflush(stdout);
      if (writer.defined()) {
        tf::summary::scalar("loss", loss, epoch, writer);
        tf::summary::scalar("test_accuracy", test_acc, epoch, writer);
        writer.flush();
      }
    }
    done_epochs.assign(tf::constant(int64_t(epoch)));
    if (manager && chief) std::printf("Saved %s\n", manager->save(epoch).c_str());
    strategy.barrier();  // the checkpoint is complete before anyone can fail in the next epoch
  }
  if (chief) std::printf("test accuracy: %.4f\n", test_acc);
  return test_acc >= flags.min_accuracy ? 0 : 1;
}
