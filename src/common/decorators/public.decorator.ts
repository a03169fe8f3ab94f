import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC_KEY = 'parley:public';
/** Opts a route out of the global JwtAuthGuard (any module may mark its operator or public routes). */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
