import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` in console/ serves the app with hot reload and forwards /api to a running API
// (PATCHWAVE_API_URL, default the dev stack's http://127.0.0.1:8080). Production: `vite build` into dist/,
// which the API serves at `/`.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: { '/api': process.env.PATCHWAVE_API_URL ?? 'http://127.0.0.1:8080' },
  },
});
