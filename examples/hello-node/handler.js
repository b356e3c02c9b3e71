// Hello, Swiftlet! (node18 contract, same as the OpenFaaS template)
//
// Try:
//   curl 'http://HOST/function/hello-node?name=Ada'
//   curl -H 'Content-Type: application/json' -d '{"name":"Grace"}' http://HOST/function/hello-node
//   curl -d 'Linus' http://HOST/function/hello-node

'use strict';

module.exports = async (event, context) => {
  // event.body is an object for application/json, a string for text/* (and
  // for requests without a content type), {} when there is no body.
  let name = event.query.name;
  if (!name && event.body && typeof event.body === 'object' && !Buffer.isBuffer(event.body)) {
    name = event.body.name;
  }
  if (!name && typeof event.body === 'string' && event.body.trim()) {
    name = event.body.trim().slice(0, 100);
  }
  name = String(name || 'world');

  return context
    .status(200)
    .headers({
      'Content-Type': 'application/json',
      'X-Greeted': encodeURIComponent(name),
      'Cache-Control': 'no-store',
    })
    .succeed({
      message: `Hello, ${name}!`,
      method: event.method,
      path: event.path,
      query: event.query,
      userAgent: event.headers['user-agent'] || null,
      time: new Date().toISOString(),
    });
};
