//===- server.cpp - an OpenAI-compatible completions server ---------------===//
//
// Threads: httplib's pool answers connections; one thread runs the Batcher.
// A request's handler validates it, tokenizes its prompts and submits them;
// the Batcher's callbacks (on its thread) append to the request's Exchange,
// and the connection's content provider (on the pool thread) writes what
// has come: one JSON body at the end, or server-sent events as tokens come.
// A client that goes away (a failed write, or a dead socket seen while
// waiting) cancels its sequences, which free their place at the next step.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <limits>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <sys/socket.h>
#include <random>
#include <thread>

namespace lithe::rt {

using json = nlohmann::json;

namespace {

std::string dump(const json &j) { return dumpJson(j); }

json errorBody(const std::string &message, const char *type, const char *param = nullptr) {
  return json{{"error", {{"message", message}, {"type", type}, {"param", param ? json(param) : json(nullptr)},
                         {"code", nullptr}}}};
}

void sendError(httplib::Response &res, int status, const std::string &message, const char *type,
               const char *param = nullptr) {
  res.status = status;
  res.set_content(dump(errorBody(message, type, param)), "application/json");
}

/// What one HTTP request waits for: the Batcher's callbacks fill it, the
/// connection's thread drains it.
struct Exchange {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> events;   // SSE payloads not yet written
  std::vector<GenResult> results;    // one per prompt, when done
  std::vector<size_t> textBytes;     // per choice: bytes streamed (logprobs' offsets)
  size_t done = 0, prompts = 0;
  std::vector<uint64_t> ids;         // the Batcher's request ids
};

struct Server {
  Batcher &b;
  const ServeOptions &o;
  std::atomic<uint64_t> counter{0};
  std::mt19937_64 seeds{std::random_device{}()};
  std::mutex seedMu;
  std::atomic<bool> stopping{false};

  std::string newId() { return "cmpl-" + std::to_string(std::time(nullptr)) + "-" + std::to_string(++counter); }

  void completions(const httplib::Request &req, httplib::Response &res);
  void cancelAll(Exchange &x) {
    for (uint64_t id : x.ids) b.cancel(id);
  }
};

void Server::completions(const httplib::Request &req, httplib::Response &res) {
  json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return sendError(res, 400, "the body must be a JSON object", "invalid_request_error");
  const Tokenizer &tok = b.tokenizer();
  const Tokenizer *tokp = &tok;
  // Prompts: a string, an array of strings, or an array of token ids.
  std::vector<std::vector<int32_t>> prompts;
  auto p = j.find("prompt");
  if (p == j.end() || p->is_null()) return sendError(res, 400, "\"prompt\" is missing", "invalid_request_error", "prompt");
  auto encode = [&](const std::string &text, std::vector<int32_t> &ids) {
    std::string why;
    if (!tok.encode(text, ids, why)) {
      sendError(res, 400, "\"prompt\": " + why, "invalid_request_error", "prompt");
      return false;
    }
    return true;
  };
  if (p->is_string()) {
    prompts.emplace_back();
    if (!encode(p->get<std::string>(), prompts.back())) return;
  } else if (p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {
    prompts.emplace_back();
    for (const json &t : *p) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= b.model().vocab())
        return sendError(res, 400, "\"prompt\": token ids must be integers in [0, " + std::to_string(b.model().vocab()) + ")",
                         "invalid_request_error", "prompt");
      prompts.back().push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
  } else if (p->is_array() && !p->empty()) {
    for (const json &t : *p) {
      if (!t.is_string())
        return sendError(res, 400, "\"prompt\" must be a string, an array of strings or an array of token ids",
                         "invalid_request_error", "prompt");
      prompts.emplace_back();
      if (!encode(t.get<std::string>(), prompts.back())) return;
    }
  } else {
    return sendError(res, 400, "\"prompt\" must be a string, an array of strings or an array of token ids",
                     "invalid_request_error", "prompt");
  }
  // What this server does not do is refused, not ignored.
  if (auto e = j.find("echo"); e != j.end() && e->is_boolean() && e->get<bool>())
    return sendError(res, 400, "\"echo\" is not supported", "invalid_request_error", "echo");
  if (auto s = j.find("suffix"); s != j.end() && !s->is_null())
    return sendError(res, 400, "\"suffix\" is not supported (GPT-2 has no fill-in-the-middle)", "invalid_request_error",
                     "suffix");
  GenRequest base;
  base.sampling = o.defaults;
  base.maxTokens = o.defaultMaxTokens;
  std::string why;
  if (!readRequest(j, tok, base, why)) return sendError(res, 400, why, "invalid_request_error");
  if (auto bo = j.find("best_of"); bo != j.end() && !bo->is_null() && !(bo->is_number_integer() && *bo == base.n))
    return sendError(res, 400, "\"best_of\" other than n is not supported", "invalid_request_error", "best_of");
  const int64_t cap = b.model().capacity(), maxTokens = o.maxTokens > 0 ? o.maxTokens : cap;
  if (base.maxTokens > maxTokens)
    return sendError(res, 400, "\"max_tokens\" must be at most " + std::to_string(maxTokens), "invalid_request_error",
                     "max_tokens");
  if (base.n > b.maxBatch())
    return sendError(res, 400, "\"n\" must be at most " + std::to_string(b.maxBatch()) + " (the server's --batch)",
                     "invalid_request_error", "n");
  if (j.find("seed") == j.end() || j["seed"].is_null()) {
    if (o.randomSeed) {
      std::lock_guard<std::mutex> l(seedMu);
      base.sampling.seed = seeds() >> 12;
    }
  }
  bool stream = false;
  if (auto s = j.find("stream"); s != j.end() && !s->is_null()) {
    if (!s->is_boolean()) return sendError(res, 400, "\"stream\" must be true or false", "invalid_request_error", "stream");
    stream = s->get<bool>();
  }
  bool usageInStream = false;
  if (auto so = j.find("stream_options"); so != j.end() && so->is_object())
    if (auto iu = so->find("include_usage"); iu != so->end() && iu->is_boolean()) usageInStream = iu->get<bool>();
  if (b.inFlight() + static_cast<int64_t>(prompts.size()) > o.maxQueued) {
    res.set_header("Retry-After", "1");
    return sendError(res, 503,
                     "the server is busy: " + std::to_string(b.inFlight()) + " requests in flight (at most " +
                         std::to_string(o.maxQueued) + ", --max-queue)",
                     "server_error");
  }
  for (const auto &pr : prompts) {
    if (pr.empty()) return sendError(res, 400, "\"prompt\" is empty", "invalid_request_error", "prompt");
    if (static_cast<int64_t>(pr.size()) >= cap)
      return sendError(res, 400,
                       "the prompt has " + std::to_string(pr.size()) + " tokens; the model's context is " +
                           std::to_string(cap),
                       "invalid_request_error", "prompt");
  }

  const std::string id = newId(), model = o.modelName;
  const long long created = static_cast<long long>(std::time(nullptr));
  const int64_t n = base.n;
  auto x = std::make_shared<Exchange>();
  x->prompts = prompts.size();
  x->results.resize(prompts.size());
  x->textBytes.assign(prompts.size() * static_cast<size_t>(n), 0);
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenRequest r = base;
    r.prompt = prompts[i];
    Batcher::DeltaFn onDelta;
    if (stream)
      onDelta = [x, i, n, id, model, created, tokp](int64_t c, const std::string &text,
                                                      const std::vector<TokenLogprob> &lps) {
        size_t index = i * static_cast<size_t>(n) + static_cast<size_t>(c);
        json choice{{"text", text}, {"index", index}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
        std::lock_guard<std::mutex> l(x->mu);
        if (!lps.empty()) choice["logprobs"] = logprobsJson(*tokp, lps, x->textBytes[index]);
        x->textBytes[index] += text.size();
        json chunk{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                   {"choices", json::array({choice})}};
        x->events.push_back(dump(chunk));
        x->cv.notify_one();
      };
    auto onDone = [x, i](GenResult &&r) {
      std::lock_guard<std::mutex> l(x->mu);
      x->results[i] = std::move(r);
      ++x->done;
      x->cv.notify_one();
    };
    std::string error;
    uint64_t rid = b.submit(std::move(r), onDelta, onDone, error);
    if (!rid) {
      cancelAll(*x);
      return sendError(res, 400, error, "invalid_request_error", "prompt");
    }
    std::lock_guard<std::mutex> l(x->mu);
    x->ids.push_back(rid);
  }

  auto usage = [x]() {
    int64_t promptTokens = 0, completion = 0, cached = 0;
    for (const GenResult &r : x->results) {
      promptTokens += r.promptTokens;
      cached += r.cachedTokens;
      for (const ChoiceResult &c : r.choices) completion += c.tokens;
    }
    return json{{"prompt_tokens", promptTokens}, {"completion_tokens", completion},
                {"total_tokens", promptTokens + completion},
                {"prompt_tokens_details", json{{"cached_tokens", cached}}}};
  };
  auto failed = [x]() -> std::string {
    for (const GenResult &r : x->results)
      if (!r.error.empty()) return r.error;
    return "";
  };
  // Waits for something to write; false when the client has gone away or
  // the server is stopping (what is in flight is cancelled, not drained).
  auto wait = [this, x](httplib::DataSink &sink, const std::function<bool()> &ready) {
    std::unique_lock<std::mutex> l(x->mu);
    while (!ready()) {
      x->cv.wait_for(l, std::chrono::milliseconds(50));
      if (!ready() && (stopping || !sink.is_writable())) return false;
    }
    return true;
  };
  auto release = [this, x](bool success) {
    if (!success || x->done < x->prompts) cancelAll(*x);
  };

  if (!stream) {
    res.set_chunked_content_provider(
        "application/json",
        [this, x, id, model, created, n, usage, failed, wait, tokp](size_t, httplib::DataSink &sink) {
          if (!wait(sink, [&] { return x->done == x->prompts; })) {
            cancelAll(*x);
            return false;
          }
          std::string body;
          if (std::string err = failed(); !err.empty()) body = dump(errorBody(err, "server_error"));
          else {
            json choices = json::array();
            for (size_t i = 0; i < x->results.size(); ++i)
              for (size_t c = 0; c < x->results[i].choices.size(); ++c) {
                const ChoiceResult &ch = x->results[i].choices[c];
                choices.push_back({{"text", ch.text},
                                   {"index", i * static_cast<size_t>(n) + c},
                                   {"logprobs", ch.logprobs.empty() ? json(nullptr) : logprobsJson(*tokp, ch.logprobs)},
                                   {"finish_reason", finishName(ch.finish, false, false)}});
              }
            body = dump(json{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                             {"choices", choices}, {"usage", usage()}});
          }
          body += "\n";
          bool ok = sink.write(body.data(), body.size());
          if (ok) sink.done();
          return ok;
        },
        release);
    return;
  }

  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, x, id, model, created, n, usage, failed, wait, usageInStream](size_t, httplib::DataSink &sink) {
        std::vector<std::string> events;
        bool finished = false;
        if (!wait(sink, [&] { return !x->events.empty() || x->done == x->prompts; })) {
          cancelAll(*x);
          return false;
        }
        {
          std::lock_guard<std::mutex> l(x->mu);
          events.swap(x->events);
          finished = x->done == x->prompts;
        }
        std::string out;
        for (const std::string &e : events) out += "data: " + e + "\n\n";
        if (finished) {
          if (std::string err = failed(); !err.empty()) out += "data: " + dump(errorBody(err, "server_error")) + "\n\n";
          else {
            // One last chunk per choice with its finish reason.
            for (size_t i = 0; i < x->results.size(); ++i)
              for (size_t c = 0; c < x->results[i].choices.size(); ++c) {
                json chunk{{"id", id},
                           {"object", "text_completion"},
                           {"created", created},
                           {"model", model},
                           {"choices",
                            json::array({json{{"text", ""},
                                              {"index", i * static_cast<size_t>(n) + c},
                                              {"logprobs", nullptr},
                                              {"finish_reason", finishName(x->results[i].choices[c].finish, false, false)}}})}};
                out += "data: " + dump(chunk) + "\n\n";
              }
            if (usageInStream)
              out += "data: " + dump(json{{"id", id}, {"object", "text_completion"}, {"created", created},
                                          {"model", model}, {"choices", json::array()}, {"usage", usage()}}) + "\n\n";
          }
          out += "data: [DONE]\n\n";
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) {
          cancelAll(*x);
          return false;
        }
        if (finished) sink.done();
        return true;
      },
      release);
}

} // namespace

int serve(Batcher &b, const ServeOptions &o) {
  // SIGINT/SIGTERM are taken by one thread (sigwait) that stops the server;
  // every other thread starts with them blocked. A write to a closed socket
  // is an error return, not a signal.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  httplib::Server svr;
  Server s{b, o};
  // One pool thread per request that may be in flight, and a few spare to
  // answer "busy" quickly.
  size_t threads = static_cast<size_t>(o.maxQueued) + 4;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(static_cast<size_t>(o.maxBodyBytes));
  svr.set_keep_alive_max_count(1000);
  // httplib's default also sets SO_REUSEPORT, which lets a second server
  // take the same port silently; a taken port must be an error.
  svr.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  svr.set_error_handler([&](const httplib::Request &req, httplib::Response &res) {
    if (!res.body.empty()) return;
    std::string what = res.status == 404   ? "no such endpoint: " + req.method + " " + req.path
                       : res.status == 413 ? "the request body is larger than " + std::to_string(o.maxBodyBytes) +
                                                 " bytes (--max-body)"
                                           : "HTTP " + std::to_string(res.status);
    res.set_content(dump(errorBody(what, res.status >= 500 ? "server_error" : "invalid_request_error")),
                    "application/json");
  });
  svr.set_exception_handler([](const httplib::Request &, httplib::Response &res, std::exception_ptr) {
    res.status = 500;
    res.set_content(dump(errorBody("internal error", "server_error")), "application/json");
  });
  svr.Get("/health", [&](const httplib::Request &, httplib::Response &res) {
    Batcher::Totals t = b.totals();
    res.set_content(dump(json{{"status", "ok"},
                              {"model", o.modelName},
                              {"in_flight", b.inFlight()},
                              {"batch", b.maxBatch()},
                              {"requests", t.requests},
                              {"generated_tokens", t.generated},
                              {"prompt_tokens", t.promptTokens},
                              {"prompt_tokens_cached", t.cachedPromptTokens},
                              {"steps", t.steps},
                              {"mean_batch", t.steps ? static_cast<double>(t.rows) / t.steps : 0.0}}),
                    "application/json");
  });
  svr.Get("/v1/models", [&](const httplib::Request &, httplib::Response &res) {
    res.set_content(dump(json{{"object", "list"},
                              {"data", json::array({json{{"id", o.modelName},
                                                         {"object", "model"},
                                                         {"created", 0},
                                                         {"owned_by", "lithe"},
                                                         {"context_length", b.model().capacity()}}})}}),
                    "application/json");
  });
  svr.Post("/v1/completions", [&](const httplib::Request &req, httplib::Response &res) { s.completions(req, res); });
  svr.Post("/v1/chat/completions", [&](const httplib::Request &, httplib::Response &res) {
    sendError(res, 404, "chat completions are not supported: GPT-2 has no chat template (use /v1/completions)",
              "invalid_request_error");
  });

  int port = o.port;
  if (port == 0) {
    port = svr.bind_to_any_port(o.host.c_str());
    if (port < 0) {
      std::fprintf(stderr, "error: --serve: cannot listen on %s\n", o.host.c_str());
      return 1;
    }
  } else if (!svr.bind_to_port(o.host.c_str(), port)) {
    std::fprintf(stderr, "error: --serve: cannot listen on %s:%d (in use, or not an address of this machine)\n",
                 o.host.c_str(), port);
    return 1;
  }
  std::thread loop([&] { b.run(); });
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stopSignals, &sig);
    s.stopping = true;
    svr.stop();
  });
  std::fprintf(stderr, "serving %s on http://%s:%d (batch %lld, at most %lld requests in flight)\n",
               o.modelName.c_str(), o.host.c_str(), port, static_cast<long long>(b.maxBatch()),
               static_cast<long long>(o.maxQueued));
  std::fflush(stderr);
  bool ok = svr.listen_after_bind();
  // Stopped by a signal (or the listener failed): finish the loop, wake the
  // signal thread if it still waits.
  b.stop();
  loop.join();
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  std::fprintf(stderr, "stopped\n");
  return ok ? 0 : 1;
}

} // namespace lithe::rt

extern "C" int lithe_serve_abi(void) { return lithe::rt::kServeAbi; }

extern "C" int lithe_serve(lithe::rt::Batcher *batcher, const lithe::rt::ServeOptions *options) {
  return lithe::rt::serve(*batcher, *options);
}
