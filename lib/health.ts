import { z } from 'zod';

/** Response of GET /api/health, shared by the route handler and the client. */
export const healthSchema = z.object({
  status: z.literal('ok'),
  node: z.string(),
});

export type Health = z.infer<typeof healthSchema>;
