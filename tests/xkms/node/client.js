// An XKMS client built by the npm `soap` package from the WSDL Passport serves.
//
//   node client.js WSDL_URL APPLICATION IDENTIFIER
//
// Locates the key bindings for one UseKeyWith pair, then validates the first one by the
// KeyValue that Locate returned, and prints what it read as one line of JSON:
//   {"locate": {...}, "validate": {...}}
// Errors go to stderr with a non-zero exit status.
"use strict";

const soap = require("soap");

const XKMS = "http://www.w3.org/2002/03/xkms#";

function list(value) {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function keyValue(binding) {
  const info = binding.KeyInfo || {};
  const value = info.KeyValue || {};
  return value.RSAKeyValue || null;
}

function readBinding(binding) {
  const status = binding.Status;
  return {
    id: binding.attributes.Id,
    useKeyWith: list(binding.UseKeyWith).map((use) => [
      use.attributes.Application,
      use.attributes.Identifier,
    ]),
    modulus: keyValue(binding) ? keyValue(binding).Modulus : null,
    status: status ? status.attributes.StatusValue : null,
  };
}

function readResult(result) {
  return {
    major: result.attributes.ResultMajor,
    minor: result.attributes.ResultMinor || null,
    requestId: result.attributes.RequestId,
    signed: Boolean(result.Signature),
  };
}

async function main() {
  const [wsdlUrl, application, identifier] = process.argv.slice(2);
  const client = await soap.createClientAsync(wsdlUrl);
  // The endpoint address the WSDL names (soap:address), which requests name as Service.
  const address = client.wsdl.services.XKMSService.ports.XKMSPort.location;
  const useKeyWith = { attributes: { Application: application, Identifier: identifier } };

  const [located] = await client.LocateAsync({
    attributes: { Id: "Inode-locate", Service: address },
    RespondWith: [XKMS + "KeyValue"],
    QueryKeyBinding: { UseKeyWith: useKeyWith },
  });
  const bindings = list(located.UnverifiedKeyBinding).map(readBinding);

  const found = list(located.UnverifiedKeyBinding)[0];
  const [validated] = await client.ValidateAsync({
    attributes: { Id: "Inode-validate", Service: address },
    QueryKeyBinding: { KeyInfo: { KeyValue: { RSAKeyValue: keyValue(found) } } },
  });

  process.stdout.write(
    JSON.stringify({
      address: address,
      locate: { ...readResult(located), bindings: bindings },
      validate: {
        ...readResult(validated),
        bindings: list(validated.KeyBinding).map(readBinding),
      },
    }) + "\n",
  );
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error) + "\n");
  if (error && error.response && error.response.data) {
    process.stderr.write(String(error.response.data) + "\n");
  }
  process.exit(1);
});
