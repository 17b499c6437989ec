import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".wrangler/", ".e2e/", ".bench/", "migrations/"] },
  ...tseslint.configs.strict,
  {
    rules: {
      // `const { proof: _proof, ...rest } = doc` is how a field is dropped from a copy.
      "@typescript-eslint/no-unused-vars": ["error", { varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
    },
  },
  {
    // Tests read untyped JSON answers and index into them after asserting what they contain; a wrong
    // assumption fails the test either way.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        fetch: "readonly",
        Buffer: "readonly",
        performance: "readonly",
        setTimeout: "readonly",
        Request: "readonly",
        Response: "readonly",
      },
    },
  },
);
