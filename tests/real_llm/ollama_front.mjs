// An Ollama-API front on llama.cpp (node-llama-cpp), for the optional real-model test.
// Usage: node ollama_front.mjs MODEL.gguf PORT NAME
// Serves /api/version, /api/tags, /api/chat and /api/generate (stream false) on 127.0.0.1,
// answering one request at a time; the prompt is the last user message, completed as plain text
// (the small test model has no chat template); "format": "json" is honoured with a JSON grammar.
import http from "node:http";
import {getLlama, LlamaCompletion} from "node-llama-cpp";

const [modelPath, port, name] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 4096, threads: 2});
const completion = new LlamaCompletion({contextSequence: context.getSequence()});
let queue = Promise.resolve();

// Ollama's "format": "json" constrains decoding to JSON; llama.cpp's JSON grammar does the same
const jsonGrammar = await llama.getGrammarFor("json");

function complete(prompt, options = {}, format = undefined) {
  const run = queue.then(() => completion.generateCompletion(prompt, {
    grammar: format === "json" ? jsonGrammar : undefined,
    maxTokens: Math.min(options.num_predict ?? 256, 256),
    temperature: options.temperature ?? 0,
    seed: options.seed ?? 0,
    stopOnAbortSignal: true,
    customStopTriggers: ["\nTexto:"],
  }));
  queue = run.catch(() => {});
  return run;
}

function send(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, {"Content-Type": "application/json", "Content-Length": Buffer.byteLength(data)});
  res.end(data);
}

http.createServer(async (req, res) => {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  try {
    const now = new Date().toISOString();
    if (req.method === "GET" && req.url === "/api/version") return send(res, 200, {version: "0.0.0-front"});
    if (req.method === "GET" && req.url === "/api/tags")
      return send(res, 200, {models: [{name, model: name, modified_at: now, size: 0, digest: "", details: {}}]});
    const body = JSON.parse(raw || "{}");
    if (body.model !== name && body.model !== name.replace(/:latest$/, ""))
      return send(res, 404, {error: `model "${body.model}" not found, try pulling it first`});
    if (req.url === "/api/chat") {
      const prompt = body.messages.filter(m => m.role === "user").at(-1).content;
      const text = await complete(prompt, body.options, body.format);
      return send(res, 200, {model: name, created_at: now, message: {role: "assistant", content: text}, done: true});
    }
    if (req.url === "/api/generate") {
      const text = await complete(body.prompt, body.options, body.format);
      return send(res, 200, {model: name, created_at: now, response: text, done: true});
    }
    send(res, 404, {error: "404 page not found"});
  } catch (err) {
    send(res, 500, {error: String(err)});
  }
}).listen(Number(port), "127.0.0.1", () => console.log(`listening ${port}`));
