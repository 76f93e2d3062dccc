// The echo operation served by the npm `soap` package, for bench/soap_peers.py.
//
//   node bench/node/echo_server.js PORT
//
// Serves POST /echo (and GET /echo?wsdl) on 127.0.0.1 with the WSDL bench/echo.wsdl, the
// same document/literal contract as Passport's bench/echo_service.py and spyne's.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");
const soap = require("soap");

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node echo_server.js PORT");
  process.exit(2);
}
const address = `http://127.0.0.1:${port}/echo`;
const wsdl = fs
  .readFileSync(path.join(__dirname, "..", "echo.wsdl"), "utf8")
  .replaceAll("{address}", address);

const service = {
  EchoService: {
    EchoSoap: {
      Echo(args) {
        return { text: args.text };
      },
    },
    EchoSoap12: {
      Echo(args) {
        return { text: args.text };
      },
    },
  },
};

const server = http.createServer((request, response) => {
  response.statusCode = 404;
  response.end();
});
server.keepAliveTimeout = 60000;
server.listen(port, "127.0.0.1", () => {
  soap.listen(server, "/echo", service, wsdl, () => {
    console.log(`npm soap ${require("soap/package.json").version} listening on ${address}`);
  });
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
