// Starts Swagger UI on the /docs page. A file of its own, not an inline script: the page's
// Content-Security-Policy runs scripts from this origin only.
window.ui = SwaggerUIBundle({
  url: "/docs/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // No badge from validator.swagger.io: the page talks to this API and nowhere else.
  validatorUrl: null,
  // A token given with Authorize survives a reload of the page (kept in this browser only).
  persistAuthorization: true,
});
