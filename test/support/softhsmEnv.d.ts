// Types of softhsmEnv.js, so the TypeScript tests share its names with globalSetup.
export declare const TOKEN_LABEL: string;
export declare const USER_PIN: string;
export declare const SO_PIN: string;
export declare const ENV_LIBRARY: string;
export declare const ENV_SKIP: string;
export declare const ENV_DIR: string;
export declare const ENV_PREVIOUS_CONF: string;
